package soak

import (
	"strconv"
	"sync"
)

// The chat ledger: what the relay confirmed (a line echoed to its sender,
// with the room sequence it got) and what every session received, so the
// end of the run can check that every confirmed line reached every member
// present, exactly once.

// lineKey identifies one chat line by its sender session and counter.
type lineKey struct {
	sender uint32 // global session number of the sender
	n      uint32 // the sender's line counter, 1, 2, 3, ...
}

// roomLedger holds one room's confirmed lines, by room sequence. Room ids
// are never reused in a run, so a room id is one room lifetime.
type roomLedger struct {
	mu    sync.Mutex
	lines map[uint64]lineKey
}

// sessionLedger is what one session saw. Only its reader goroutine writes
// it while the session runs; the final check reads it after every session
// ended or went quiet, under mu.
type sessionLedger struct {
	mu       sync.Mutex
	room     *roomLedger
	first    uint64 // first room sequence seen (any reliable event); 0: none
	last     uint64 // last room sequence seen
	recv     map[uint64]lineKey
	dups     uint64 // the same sequence received again
	mismatch uint64 // two different lines under one sequence
}

func (s *sessionLedger) seen(seq uint64) {
	if seq == 0 {
		return
	}
	if s.first == 0 || seq < s.first {
		s.first = seq
	}
	if seq > s.last {
		s.last = seq
	}
}

func (s *sessionLedger) chat(seq uint64, k lineKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen(seq)
	if old, ok := s.recv[seq]; ok {
		if old == k {
			s.dups++
		} else {
			s.mismatch++
		}
		return
	}
	s.recv[seq] = k
}

func (s *sessionLedger) event(seq uint64) {
	s.mu.Lock()
	s.seen(seq)
	s.mu.Unlock()
}

// confirm records a line the relay echoed to its own sender.
func (r *roomLedger) confirm(seq uint64, k lineKey) {
	r.mu.Lock()
	r.lines[seq] = k
	r.mu.Unlock()
}

// ExactlyOnce is the result of the chat check.
type ExactlyOnce struct {
	// Confirmed lines: echoed by the relay to their sender.
	Confirmed uint64 `json:"confirmed"`
	// Sent lines whose echo never came (sender left or the run ended
	// first); not expected anywhere.
	Unconfirmed uint64 `json:"unconfirmed"`
	// Expected receipts: for every confirmed line, every session of its
	// room whose observed sequence range covers the line's sequence.
	Expected uint64 `json:"expected"`
	Received uint64 `json:"received"` // expected receipts that arrived, with the right text
	Missing  uint64 `json:"missing"`
	// Duplicates: a session received one sequence twice.
	Duplicates uint64 `json:"duplicates"`
	// Mismatched: a session received a different line than the one the
	// relay confirmed under that sequence (or two lines under one).
	Mismatched uint64 `json:"mismatched"`
	// SeqGaps and SeqRepeats are the client's own checks of room
	// sequences (every reliable event = previous + 1 from the Welcome).
	SeqGaps    uint64 `json:"seq_gaps"`
	SeqRepeats uint64 `json:"seq_repeats"`
	// SessionsChecked had at least one sequence; SessionsPresentAtEnd
	// stayed to the end (their range covers the final lines).
	SessionsChecked      int  `json:"sessions_checked"`
	SessionsPresentAtEnd int  `json:"sessions_present_at_end"`
	OK                   bool `json:"ok"`
}

// check compares every session's receipts with its room's confirmed lines.
func check(sessions []*sessionLedger) ExactlyOnce {
	var out ExactlyOnce
	for _, s := range sessions {
		s.mu.Lock()
		out.Duplicates += s.dups
		out.Mismatched += s.mismatch
		if s.first == 0 {
			s.mu.Unlock()
			continue
		}
		out.SessionsChecked++
		s.room.mu.Lock()
		for q, k := range s.room.lines {
			if q < s.first || q > s.last {
				continue
			}
			out.Expected++
			got, ok := s.recv[q]
			switch {
			case !ok:
				out.Missing++
			case got != k:
				out.Mismatched++
			default:
				out.Received++
			}
		}
		s.room.mu.Unlock()
		s.mu.Unlock()
	}
	out.OK = out.Missing == 0 && out.Duplicates == 0 && out.Mismatched == 0 && out.Expected > 0
	return out
}

// chatText is "sk|<sender>|<n>|" padded to size bytes.
func chatText(k lineKey, size int) string {
	b := make([]byte, 0, size)
	b = append(b, "sk|"...)
	b = strconv.AppendUint(b, uint64(k.sender), 10)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(k.n), 10)
	b = append(b, '|')
	for len(b) < size {
		b = append(b, 'a'+byte(len(b)%26))
	}
	return string(b)
}

// parseChat reads a chatText line; ok is false for anything else.
func parseChat(t []byte) (lineKey, bool) {
	if len(t) < 3 || string(t[:3]) != "sk|" {
		return lineKey{}, false
	}
	var f [2]uint64
	p := 3
	for i := range f {
		start := p
		for p < len(t) && t[p] != '|' {
			c := t[p]
			if c < '0' || c > '9' || p-start >= 10 {
				return lineKey{}, false
			}
			f[i] = f[i]*10 + uint64(c-'0')
			p++
		}
		if p == start || p >= len(t) || f[i] > 1<<32-1 {
			return lineKey{}, false
		}
		p++
	}
	return lineKey{sender: uint32(f[0]), n: uint32(f[1])}, true
}
