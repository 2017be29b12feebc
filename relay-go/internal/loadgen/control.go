package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ControlClient signs members in and joins them through the control plane's
// HTTP API (docs/control.md). Paths are fields so a renamed route is a flag,
// not a code change. Safe for concurrent use.
type ControlClient struct {
	BaseURL    string // e.g. http://127.0.0.1:18080
	World      string // world id or name to join
	SignInPath string // zero value: /v1/auth/guest
	JoinPath   string // zero value: /v1/join
	HTTP       *http.Client
}

// NewControlClient returns a client with a connection pool sized for a join
// storm on loopback.
func NewControlClient(base, world string) *ControlClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     30 * time.Second,
	}
	return &ControlClient{BaseURL: base, World: world, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Joined is what the control plane hands a member at join.
type Joined struct {
	URL    string
	Ticket string
	Room   string
}

// Ping checks that the control plane answers at all; W3 calls it first so a
// missing control plane is one clear error instead of 5,000 failed joins.
func (c *ControlClient) Ping(ctx context.Context) error {
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

// SignInAndJoin signs m in as a guest and joins the world; room is a hint
// the control plane may ignore (it places members itself).
func (c *ControlClient) SignInAndJoin(ctx context.Context, m *Member, room string) (*Joined, error) {
	sp := c.SignInPath
	if sp == "" {
		sp = "/v1/auth/guest"
	}
	var signin struct {
		Token        string `json:"token"`
		SessionToken string `json:"session_token"`
		AccessToken  string `json:"access_token"`
	}
	if err := c.post(ctx, sp, "", map[string]any{"display_name": m.Name, "device_id": m.User}, &signin, "signin"); err != nil {
		return nil, err
	}
	tok := firstNonEmpty(signin.SessionToken, signin.AccessToken, signin.Token)
	if tok == "" {
		return nil, &JoinError{Kind: "signin_no_token", Err: fmt.Errorf("sign-in answer has no token")}
	}
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
	if err := c.post(ctx, jp, tok, map[string]any{"world": c.World, "world_id": c.World}, &j, "join"); err != nil {
		return nil, err
	}
	out := &Joined{URL: firstNonEmpty(j.RelayURL, j.URL), Ticket: j.Ticket, Room: j.Room}
	if out.URL == "" || out.Ticket == "" {
		return nil, &JoinError{Kind: "join_bad_answer", Err: fmt.Errorf("join answer lacks relay url or ticket")}
	}
	return out, nil
}

func (c *ControlClient) post(ctx context.Context, path, bearer string, body, out any, what string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &JoinError{Kind: what + "_http", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &JoinError{Kind: what + "_http", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return &JoinError{Kind: fmt.Sprintf("%s_http_%d", what, resp.StatusCode), Err: fmt.Errorf("%s %s: %s", what, resp.Status, bytes.TrimSpace(data))}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &JoinError{Kind: what + "_decode", Err: err}
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
