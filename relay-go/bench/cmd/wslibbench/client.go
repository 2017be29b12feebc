package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A deliberately minimal WebSocket client (handshake + pre-built masked
// frames + byte counting) so that the client process costs as little CPU as
// possible: on a 2-core machine client and server share the cores.

const mask0, mask1, mask2, mask3 = 0x12, 0x34, 0x56, 0x78

// maskedFrame builds a client->server binary frame (payload < 126 bytes).
func maskedFrame(payload []byte) []byte {
	if len(payload) >= 126 {
		panic("small frames only")
	}
	f := []byte{0x82, 0x80 | byte(len(payload)), mask0, mask1, mask2, mask3}
	m := [4]byte{mask0, mask1, mask2, mask3}
	for i, b := range payload {
		f = append(f, b^m[i%4])
	}
	return f
}

func kindPayload(kind byte, size int) []byte {
	p := make([]byte, size)
	p[0] = kind
	return p
}

type cconn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(addr string, i int, raw bool) (*cconn, error) {
	// Spread source addresses over 127.0.0.2..5 so we never run short of
	// ephemeral ports.
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%4))}
	d := net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	cc := &cconn{c: c, br: bufio.NewReaderSize(c, 4096)}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if raw {
		if _, err := c.Write([]byte{kindHello}); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(cc.br, make([]byte, len(helloReply))); err != nil {
			return nil, err
		}
	} else {
		req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		if _, err := c.Write([]byte(req)); err != nil {
			return nil, err
		}
		status, err := cc.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if !strings.Contains(status, " 101 ") {
			return nil, fmt.Errorf("handshake: %q", status)
		}
		for {
			l, err := cc.br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if l == "\r\n" {
				break
			}
		}
		if _, err := c.Write(maskedFrame(kindPayload(kindHello, 16))); err != nil {
			return nil, err
		}
		hdr := make([]byte, 2)
		if _, err := io.ReadFull(cc.br, hdr); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(cc.br, make([]byte, int(hdr[1]&0x7f))); err != nil {
			return nil, err
		}
	}
	_ = c.SetDeadline(time.Time{})
	return cc, nil
}

// runClient: `client -addr A -n N -mode idle|drain|flood|paced [-expect B] [-raw]`.
// Prints READY once all N connections have done hello; exits when stdin closes.
func runClient(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	addr := fs.String("addr", "", "server address")
	n := fs.Int("n", 200, "connections")
	mode := fs.String("mode", "idle", "idle | drain | flood | paced")
	expect := fs.Int64("expect", 0, "drain: bytes per fan-out trial per connection; ack each time they arrived")
	size := fs.Int("size", 64, "flood: payload bytes per message")
	rate := fs.Int("rate", 40000, "paced: total messages per second over all connections")
	raw := fs.Bool("raw", false, "raw TCP, no WebSocket")
	conc := fs.Int("conc", 64, "concurrent dials")
	_ = fs.Parse(args)

	conns := make([]*cconn, *n)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				var c *cconn
				var err error
				for try := 0; try < 5; try++ {
					if c, err = dial(*addr, i, *raw); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err != nil {
					failed.Store(err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}

	switch *mode {
	case "drain":
		ack := maskedFrame(kindPayload(kindAck, 1))
		if *raw {
			ack = []byte{kindAck}
		}
		for _, c := range conns {
			go func(c *cconn) {
				buf := make([]byte, 64<<10)
				var total int64
				k := int64(1)
				for {
					m, err := c.br.Read(buf)
					if err != nil {
						return
					}
					total += int64(m)
					for *expect > 0 && total >= k**expect {
						if _, err := c.c.Write(ack); err != nil {
							return
						}
						k++
					}
				}
			}(c)
		}
	case "flood":
		frame := maskedFrame(kindPayload(kindData, *size))
		for _, c := range conns {
			go func(c *cconn) {
				for {
					if _, err := c.c.Write(frame); err != nil {
						return
					}
				}
			}(c)
		}
	case "paced":
		// One goroutine sweeps all connections, one frame each, then sleeps
		// until the next sweep: every connection sees a message every
		// n/rate seconds, so the server gets them one per read, like real
		// clients sending at a tick rate.
		frame := maskedFrame(kindPayload(kindData, *size))
		interval := time.Duration(float64(time.Second) * float64(*n) / float64(*rate))
		go func() {
			next := time.Now()
			for {
				for _, c := range conns {
					if _, err := c.c.Write(frame); err != nil {
						return
					}
				}
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				} else {
					next = time.Now()
				}
			}
		}()
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
}
