package relay

import (
	"fmt"
	"testing"
	"time"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/protocol"
	"github.com/plaza-dev/plaza/relay-go/internal/config"
)

// Regression (docs/loadgen-requests.md #1): nbio arms the HTTP-phase read
// deadline from its accept goroutine, which can run after the upgrade
// cleared it; idle joined sessions then died at the handshake timeout. Joined
// sessions must outlive the handshake deadline however the race goes.
func TestIdleSessionsOutliveHandshakeDeadline(t *testing.T) {
	e := startRelay(t, func(c *config.Config) {
		c.HelloTimeout = 300 * time.Millisecond
		c.IdleTimeout = time.Minute
		c.World.RoomCapacity = 1000
	})
	var clients []*client
	for i := 0; i < 100; i++ {
		c, _ := e.join("room-idle", fmt.Sprintf("u%d", i))
		clients = append(clients, c)
		time.Sleep(2 * time.Millisecond) // paced joins, an otherwise idle relay
	}
	time.Sleep(1500 * time.Millisecond)
	for i, c := range clients {
		c.send(c.enc.Ping(1, uint32(i)))
		for {
			env, err := c.read(3 * time.Second)
			if err != nil {
				t.Fatalf("session %d dropped while idle: %v", i, err)
			}
			if env.Message.Type == protocol.MessagePong {
				break
			}
		}
	}
}
