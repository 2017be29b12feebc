package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Control signs players in and joins them to worlds through the control
// plane's HTTP API (docs/control.md). Paths are fields so a renamed route
// is a flag, not a code change. Make one with NewControl; set the fields
// before the first call. Safe for concurrent use; every method blocks on
// HTTP round trips (each at most HTTP.Timeout, 30 s) and retries
// (Attempts), and returns early when ctx ends.
type Control struct {
	BaseURL    string // e.g. http://127.0.0.1:18080
	World      string // world id or name to join
	SignInPath string // zero value: /v1/auth/guest
	JoinPath   string // zero value: /v1/join
	HTTP       *http.Client
	// Attempts per call when the control plane answers 409, 429 or 503 or
	// the connection fails, paced by Backoff (the answer's RetryAfter is
	// its hint); zero value: 5; 1: no retry (the caller paces itself with
	// JoinError.RetryAfter).
	Attempts int

	// DevicePrefix starts the guest device ids DeviceID makes; zero value:
	// "loadgen".
	DevicePrefix string

	run string // random per Control, so device ids are new users each run

	mu      sync.Mutex
	perAddr map[string]*http.Client // one pool per loopback source address
}

// NewControl returns a Control for the control plane at base joining world,
// with connection pools sized for a join storm on loopback.
func NewControl(base, world string) *Control {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &Control{BaseURL: base, World: world, HTTP: newHTTPClient(nil), run: hex.EncodeToString(r[:]), perAddr: map[string]*http.Client{}}
}

func newHTTPClient(local net.IP) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// client returns the HTTP client whose connections come from local, so
// requests, like players, come from several addresses.
func (c *Control) client(local net.IP) *http.Client {
	if local == nil || c.perAddr == nil {
		return c.HTTP
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.perAddr[local.String()]
	if !ok {
		h = newHTTPClient(local)
		c.perAddr[local.String()] = h
	}
	return h
}

// Joined is what the control plane hands a member at join: the relay to
// dial and the single-use ticket for it (short-lived: Dial it at once).
type Joined struct {
	URL    string
	Ticket string
	Room   string
}

// Guest is who signs in as a guest: a device id (the control plane's
// DEVICE_ID, [A-Za-z0-9_-]{16,128}; the same id is the same user) and a
// display name.
type Guest struct {
	DeviceID string
	Name     string
}

// DeviceID returns a guest device id for user that is new on every run of
// the program (DevicePrefix-<random per Control>-user), so each run signs in
// new users.
func (c *Control) DeviceID(user string) string {
	p := c.DevicePrefix
	if p == "" {
		p = "loadgen"
	}
	return fmt.Sprintf("%s-%s-%s", p, c.run, user)
}

// Ping checks that the control plane answers at all; W3 calls it first so a
// missing control plane is one clear error instead of 5,000 failed joins.
func (c *Control) Ping(ctx context.Context) error {
	for _, p := range []string{"/healthz", "/health", "/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+p, nil)
		if err != nil {
			return err
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return fmt.Errorf("control plane not reachable at %s: %w", c.BaseURL, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode < 500 {
			return nil
		}
	}
	return fmt.Errorf("control plane at %s answers only with server errors", c.BaseURL)
}

// SignIn signs g in as a guest from the source address local (nil: any)
// and returns the session token for Join.
func (c *Control) SignIn(ctx context.Context, g Guest, local net.IP) (string, error) {
	sp := c.SignInPath
	if sp == "" {
		sp = "/v1/auth/guest"
	}
	var signin struct {
		Token        string `json:"token"`
		SessionToken string `json:"session_token"`
		AccessToken  string `json:"access_token"`
	}
	if err := c.post(ctx, c.client(local), sp, "", map[string]any{"display_name": g.Name, "device_id": g.DeviceID}, &signin, "signin"); err != nil {
		return "", err
	}
	tok := firstNonEmpty(signin.SessionToken, signin.AccessToken, signin.Token)
	if tok == "" {
		return "", &JoinError{Kind: "signin_no_token", Err: fmt.Errorf("sign-in answer has no token")}
	}
	return tok, nil
}

// Join asks the control plane, with the session token from SignIn, for a
// seat in a room of c.World: relay URL + ticket.
func (c *Control) Join(ctx context.Context, session string, local net.IP) (*Joined, error) {
	return c.JoinWith(ctx, session, local, JoinRequest{})
}

// JoinRequest narrows a join. The zero value joins any room of the world.
type JoinRequest struct {
	// RoomID asks for this room of the world (after a drain or failure:
	// the DisconnectNotice's room, or the room the member was in).
	RoomID string
	// ResumeSessionID is the previous relay session (Session.SessionID)
	// when rejoining after a drain or failure.
	ResumeSessionID string
}

// JoinWith is Join with a room and a session to resume.
func (c *Control) JoinWith(ctx context.Context, session string, local net.IP, r JoinRequest) (*Joined, error) {
	jp := c.JoinPath
	if jp == "" {
		jp = "/v1/join"
	}
	var j struct {
		RelayURL string `json:"relay_url"`
		URL      string `json:"url"`
		Ticket   string `json:"ticket"`
		Room     string `json:"room_id"`
	}
	body := map[string]any{"world_id": c.World}
	if r.RoomID != "" {
		body["room_id"] = r.RoomID
	}
	if r.ResumeSessionID != "" {
		body["resume_session_id"] = r.ResumeSessionID
	}
	if err := c.post(ctx, c.client(local), jp, session, body, &j, "join"); err != nil {
		return nil, err
	}
	out := &Joined{URL: firstNonEmpty(j.RelayURL, j.URL), Ticket: j.Ticket, Room: j.Room}
	if out.URL == "" || out.Ticket == "" {
		return nil, &JoinError{Kind: "join_bad_answer", Err: fmt.Errorf("join answer lacks relay url or ticket")}
	}
	return out, nil
}

// post sends one JSON request, retrying on 409/429/503 and on transport
// errors (refused, reset, a keep-alive connection the server just closed)
// as a real client would; both calls are safe to repeat. The last failure
// is returned as a *JoinError with the status; a request cut off by the
// run's deadline is kind "deadline", not a server failure.
func (c *Control) post(ctx context.Context, hc *http.Client, path, bearer string, body, out any, what string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	for i := 1; ; i++ {
		retry, hint, err := c.post1(ctx, hc, path, bearer, b, out, what)
		if !retry || i >= attempts {
			return err
		}
		select {
		case <-time.After(Backoff(i-1, hint, nil)):
		case <-ctx.Done():
			return err
		}
	}
}

// post1 makes one attempt; retry means "try again after Backoff", with
// the server's hint (RetryAfter; 0: none).
func (c *Control) post1(ctx context.Context, hc *http.Client, path, bearer string, b []byte, out any, what string) (retry bool, hint time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, &JoinError{Kind: "deadline", Err: err}
		}
		return true, 0, &JoinError{Kind: what + "_http", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, 0, &JoinError{Kind: what + "_http", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		err := &JoinError{Kind: fmt.Sprintf("%s_http_%d", what, resp.StatusCode), Status: resp.StatusCode, Problem: problemCode(data), Err: fmt.Errorf("%s %s: %s", what, resp.Status, bytes.TrimSpace(data))}
		switch resp.StatusCode {
		case http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			err.RetryAfter = RetryAfter(resp.Header, data)
			return true, err.RetryAfter, err
		}
		return false, 0, err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return false, 0, &JoinError{Kind: what + "_decode", Err: err}
	}
	return false, 0, nil
}

// RetryAfter is the server's pacing hint of a 409, 429 or 503 answer with
// header h and body body: the problem+json body's retry_after_ms when it is
// an integer >= 1 (preferred: whole seconds quantise a spread schedule into
// waves), else the Retry-After header in whole seconds, else 0 (no hint).
func RetryAfter(h http.Header, body []byte) time.Duration {
	var problem struct {
		RetryAfterMs *int64 `json:"retry_after_ms"`
	}
	if json.Unmarshal(body, &problem) == nil && problem.RetryAfterMs != nil && *problem.RetryAfterMs >= 1 {
		return time.Duration(*problem.RetryAfterMs) * time.Millisecond
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// problemCode is the <code> of a problem+json body's type
// "urn:plaza:problem:<code>" (docs/control.md); "" for any other body.
func problemCode(body []byte) string {
	var problem struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &problem) != nil {
		return ""
	}
	code, _ := strings.CutPrefix(problem.Type, "urn:plaza:problem:")
	if code == problem.Type {
		return ""
	}
	return code
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
