package loadgen

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// PlazaTarget joins Plaza relays with the Go client (relay-go/client),
// either with tickets it mints itself (relay-only mode) or through the
// control plane.
type PlazaTarget struct {
	URL            string          // relay WebSocket URL (relay-only mode)
	Minter         *Minter         // relay-only mode: signs tickets
	Control        *client.Control // control-plane mode when non-nil
	RoomPrefix     string          // room ids are RoomPrefix + index; zero value "bench-r"
	WelcomeTimeout time.Duration   // zero value: 10 s
}

func newPlazaTargetFromPlan(p *Plan) (Target, error) {
	t := &PlazaTarget{URL: p.URL, RoomPrefix: p.RoomPrefix}
	if p.ControlURL != "" {
		t.Control = client.NewControl(p.ControlURL, p.ControlWorld)
		t.Control.SignInPath, t.Control.JoinPath = p.ControlSignInPath, p.ControlJoinPath
		return t, nil
	}
	m, err := NewMinter(p.TicketSeed, p.TicketKid, p.RelayID, p.WorldID)
	if err != nil {
		return nil, err
	}
	t.Minter = m
	return t, nil
}

// RoomID is the id of room index i.
func (t *PlazaTarget) RoomID(i int) string {
	p := t.RoomPrefix
	if p == "" {
		p = "bench-r"
	}
	return fmt.Sprintf("%s%03d", p, i)
}

// Join implements Target. In control-plane mode it is client.JoinWorld
// (sign-in, join, dial; a 40xx refusal is retried with a new ticket); in
// relay-only mode it mints a ticket for the member's room and dials.
func (t *PlazaTarget) Join(ctx context.Context, m *Member, local net.IP, sink Sink) (Session, JoinTiming, error) {
	opt := client.DialOptions{Local: local, Handler: sink, WelcomeTimeout: t.WelcomeTimeout}
	if t.Control != nil {
		s, tm, err := t.Control.JoinWorld(ctx, client.Guest{DeviceID: t.Control.DeviceID(m.User), Name: m.Name}, opt)
		if err != nil {
			return nil, tm, err
		}
		return s, tm, nil
	}
	var tm JoinTiming
	start := time.Now()
	ticket, err := t.Minter.Mint(m.User, m.Name, t.RoomID(m.Room))
	if err != nil {
		return nil, tm, &JoinError{Kind: "ticket", Err: err}
	}
	s, err := client.Dial(ctx, t.URL, ticket, opt)
	if err != nil {
		return nil, tm, err
	}
	tm.Connect, tm.Join = s.ConnectTime(), time.Since(start)
	return s, tm, nil
}
