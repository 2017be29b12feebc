package soak

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plaza-dev/plaza/relay-go/client"
)

// member is one session in a room: it sends and is the session's Handler.
type member struct {
	d      *driver
	id     uint32 // global session number, the sender field of its lines
	sess   *client.Session
	led    *sessionLedger
	closed atomic.Bool // the relay or the network ended it
	left   atomic.Bool

	sendMu sync.Mutex // one writer at a time, so the chat counter and write agree
	chatN  uint32
}

// chatBytes is the chat line length, as in W1.
const chatBytes = 48

// drive sends moves, chat and state changes until ctx ends or the session
// closes.
func (m *member) drive(ctx context.Context, rng *rand.Rand) {
	cfg := &m.d.cfg
	walker := client.NewWalker(rng, 40)
	start := time.Now()
	moveEvery := time.Duration(float64(time.Second) / cfg.MoveHz)
	chatEvery := time.Duration(float64(time.Second) / cfg.ChatPerSec)
	nextMove := start.Add(time.Duration(rng.Int64N(int64(moveEvery))))
	nextChat := start.Add(time.Duration(rng.Int64N(int64(chatEvery))))
	nextState := start.Add(time.Duration(rng.Int64N(int64(cfg.StateEvery))))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !m.closed.Load() {
		next := nextMove
		if nextChat.Before(next) {
			next = nextChat
		}
		if nextState.Before(next) {
			next = nextState
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		if !now.Before(nextMove) {
			p := walker.At(now.Sub(start).Seconds())
			if err := m.sess.Move(&p, now.UnixMilli()); err != nil {
				m.d.sendErrs.Add(1)
			} else {
				m.d.moves.Add(1)
			}
			for !nextMove.After(now) {
				nextMove = nextMove.Add(moveEvery)
			}
		}
		if !now.Before(nextChat) {
			m.chat()
			nextChat = nextChat.Add(chatEvery)
		}
		if !now.Before(nextState) {
			// One key per member: the room's snapshot holds live state.
			v := strconv.AppendInt(nil, now.UnixMilli(), 10)
			if err := m.sess.SetState(&client.StateSet{Key: "soak." + strconv.FormatUint(uint64(m.id), 10), Value: v}); err != nil {
				m.d.sendErrs.Add(1)
			} else {
				m.d.states.Add(1)
			}
			nextState = nextState.Add(cfg.StateEvery)
		}
	}
}

// chat sends the member's next line and notes it as waiting for its echo.
func (m *member) chat() {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	k := lineKey{sender: m.id, n: m.chatN + 1}
	m.d.mu.Lock()
	m.d.sent[k] = struct{}{}
	m.d.mu.Unlock()
	if err := m.sess.Chat(chatText(k, chatBytes), k.n); err != nil {
		m.d.mu.Lock()
		delete(m.d.sent, k)
		m.d.mu.Unlock()
		m.d.sendErrs.Add(1)
		return
	}
	m.chatN = k.n
	m.d.chats.Add(1)
}

// leave ends the session once (Leave: the relay removes the member at once).
func (m *member) leave() {
	if m.left.Swap(true) {
		return
	}
	if !m.closed.Load() {
		_ = m.sess.Leave()
	}
	m.d.present.Add(-1)
	m.d.leaves.Add(1)
	// Lines still waiting for this sender's echo will not come now.
	m.d.mu.Lock()
	for k := range m.d.sent {
		if k.sender == m.id {
			delete(m.d.sent, k)
			m.d.unacked++
		}
	}
	m.d.mu.Unlock()
}

// --- client.Handler and client.RoomHandler ---------------------------------

func (m *member) Movement(int64, uint32, uint32) {}
func (m *member) Batch(int64, int64)             {}

func (m *member) Chat(_ int64, text []byte, seq uint64) {
	k, ok := parseChat(text)
	if !ok {
		m.d.count(m.d.events, "chat_unparsed")
		return
	}
	m.led.chat(seq, k)
	if k.sender == m.id {
		m.led.room.confirm(seq, k)
		m.d.mu.Lock()
		delete(m.d.sent, k)
		m.d.mu.Unlock()
	}
}

func (m *member) Event(kind string) { m.d.count(m.d.events, kind) }

func (m *member) Closed(kind string) {
	m.closed.Store(true)
	m.d.count(m.d.events, kind)
}

func (m *member) MemberJoined(_ client.Member, seq uint64)                      { m.led.event(seq) }
func (m *member) MemberLeft(_ uint32, _ string, seq uint64)                     { m.led.event(seq) }
func (m *member) Emote(_ uint32, _ string, seq uint64)                          { m.led.event(seq) }
func (m *member) StateChanged(_ string, _ []byte, _ uint64, _ bool, seq uint64) { m.led.event(seq) }
func (m *member) Announcement(_ string, seq uint64)                             { m.led.event(seq) }
