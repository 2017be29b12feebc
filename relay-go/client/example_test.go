package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// player hands what its session sees to the example's goroutine, which
// prints it: Handler calls run on the session's read goroutine and must not
// block, hence the buffered channels.
type player struct {
	client.NopHandler
	chat   chan string
	joined chan string
}

func newPlayer() *player {
	return &player{chat: make(chan string, 8), joined: make(chan string, 8)}
}

func (p *player) Chat(_ int64, text []byte, seq uint64) {
	p.chat <- fmt.Sprintf("chat #%d: %s", seq, text) // text is only valid during the call
}

func (p *player) MemberJoined(m client.Member, _ uint64) { p.joined <- m.DisplayName }

// Two players in one room of a real relay (started in this process): Bea
// joins after Ada, both see Ada's chat line with the same room sequence
// number. Tickets come from a test key here; a real client gets them from
// Control.Join (see ExampleControl_JoinWorld).
func Example() {
	r, err := startRelay()
	if err != nil {
		log.Fatal(err)
	}
	defer r.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ada := newPlayer()
	a, err := client.Dial(ctx, r.url, r.ticket("plaza-1", "ada"), client.DialOptions{Handler: ada})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	bea := newPlayer()
	b, err := client.Dial(ctx, r.url, r.ticket("plaza-1", "bea"), client.DialOptions{Handler: bea})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	fmt.Printf("Bea's Welcome lists %d members\n", len(b.Members()))
	fmt.Printf("Ada sees %q join\n", <-ada.joined)

	pose := client.Pose{Position: [3]float32{1, 0, 2}, Rotation: [4]float32{0, 0, 0, 1}}
	if err := a.Move(&pose, time.Now().UnixMilli()); err != nil {
		log.Fatal(err)
	}
	if err := a.Chat("hello, plaza", 1); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Ada sees", <-ada.chat)
	fmt.Println("Bea sees", <-bea.chat)
	// Output:
	// Bea's Welcome lists 2 members
	// Ada sees "Name bea" join
	// Ada sees chat #3: hello, plaza
	// Bea sees chat #3: hello, plaza
}

// The whole join path through a control plane (`make run` serves one on
// 127.0.0.1:18080): sign in as a guest, get a seat in world "lobby", dial
// the relay with the ticket, walk and chat. Compile-checked only: it needs
// a running control plane.
func ExampleControl_JoinWorld() {
	ctx := context.Background()
	ctl := client.NewControl("http://127.0.0.1:18080", "lobby")
	s, timing, err := ctl.JoinWorld(ctx, client.Guest{DeviceID: ctl.DeviceID("ada"), Name: "Ada"}, client.DialOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Printf("in the room after %s (control plane %s)\n", timing.Join, timing.Control)
	if err := s.Chat("hi all!", 1); err != nil {
		log.Fatal(err)
	}
}
