package relay

import (
	"net/http"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/common"
	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
)

func TestDrainViaAdminEndpoint(t *testing.T) {
	e := startRelay(t, func(c *config.Config) { c.DrainRate = 100 })
	if code, _ := httpGet(t, "http://"+e.srv.AdminAddr()+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz %d before drain", code)
	}
	var clients []*client
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		c, _ := e.join("room-d", u)
		clients = append(clients, c)
	}
	resp, err := http.Post("http://"+e.srv.AdminAddr()+"/admin/drain", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("drain: %d", resp.StatusCode)
	}
	if code, body := httpGet(t, "http://"+e.srv.AdminAddr()+"/readyz"); code != http.StatusServiceUnavailable || !contains(body, "draining") {
		t.Fatalf("readyz %d %q during drain", code, body)
	}
	for _, c := range clients {
		var notice *protocol.DisconnectNoticeT
		for notice == nil {
			env, err := c.read(5 * time.Second)
			if err != nil {
				t.Fatalf("no notice: %v", err)
			}
			if env.Message.Type == protocol.MessageDisconnectNotice {
				notice = env.Message.Value.(*protocol.DisconnectNoticeT)
			}
		}
		r := notice.Resume
		if notice.CloseCode != common.CloseCodeDraining || !r.Rejoin || r.RoomId != "room-d" || r.RetryAfterMs < 500 || r.RetryAfterMs > 31500 {
			t.Fatalf("notice %+v resume %+v", notice, r)
		}
		c.expectClose(common.CloseCodeDraining)
	}
	// Run returns nil once the relay is empty: the process would exit 0.
	select {
	case err := <-e.runErr:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		e.runErr <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not stop after draining")
	}
}

func TestDrainRefusesNewJoins(t *testing.T) {
	e := startRelay(t, nil)
	a, _ := e.join("room-d2", "alice")
	done := make(chan error, 1)
	go func() { done <- e.srv.Hub.Drain(t.Context(), "") }()
	a.expectClose(common.CloseCodeDraining)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b := e.dial()
	b.send(b.enc.Hello(e.ticket("room-d2", "bob", nil), "x", 1))
	b.expectClose(common.CloseCodeDraining)
	// The drained room saved its state and reported itself closed.
	if _, found, _ := e.states.Load(t.Context(), "room-d2", 1); !found {
		t.Fatal("room state not saved on drain")
	}
}

func TestDrainDeadlineClosesStragglers(t *testing.T) {
	e := startRelay(t, nil)
	slow := e.joinSlow("room-d3", "slow")
	ctx, cancel := contextWithTimeout(300 * time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.srv.Hub.Drain(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("drain took %v past a 300 ms deadline", d)
	}
	if conns, _ := e.srv.Hub.Counts(); conns != 0 {
		t.Fatalf("%d connections left", conns)
	}
	_ = slow
}
