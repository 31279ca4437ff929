package lambda

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// holder keeps the clock busy while a function computes. It holds the
// clock while more of its invocations run than it has calls in flight to
// the local cloud: time stands still while the function works, and may pass
// while every invocation waits for an answer (a call with injected
// latency). One holder per execution environment (one invocation at a
// time), or per function for in-process handlers.
type holder struct {
	clk  clock.Clock
	name string // the function's, for the call log (see Caller)

	mu            sync.Mutex
	active, calls int
	done          func()
}

func (h *holder) add(active, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active += active
	h.calls += calls
	want := h.active > h.calls
	switch {
	case want && h.done == nil:
		h.done = h.clk.Busy()
	case !want && h.done != nil:
		h.done()
		h.done = nil
	}
}

// enter moves c's hold on the clock to h: h holds it first, so that time
// cannot slip between the two.
func (c *call) enter(h *holder) {
	h.add(1, 0)
	if c.hold != nil {
		c.hold()
		c.hold = nil
	}
}

// exit takes the hold back from h for c.
func (c *call) exit(clk clock.Clock, h *holder) {
	c.hold = clk.Busy()
	h.add(-1, 0)
}

// Lend is the server's hook (localcloud.Server.Lend): a call from a
// function, known by the access key its environment was given, lends the
// function's hold on the clock until the call is answered.
func (s *Service) Lend(r *http.Request) (leave func()) {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return func() {}
	}
	key, _, _ := strings.Cut(cred, "/")
	s.mu.Lock()
	h := s.keys[key]
	s.mu.Unlock()
	if h == nil {
		return func() {}
	}
	h.add(0, 1)
	return func() { h.add(0, -1) }
}

// Caller names the function whose environment signed r (by its access
// key), or "" for a call from outside any function: the server's hook
// (localcloud.Server.Caller), so that the call log can count calls by
// function.
func (s *Service) Caller(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.keys[key]; h != nil {
		return h.name
	}
	return ""
}

// newKey makes an access key id for one environment, shaped like the
// session keys Lambda gives functions.
func (s *Service) newKey(h *holder) string {
	var b [8]byte
	rand.Read(b[:])
	key := "ASIA" + strings.ToUpper(hex.EncodeToString(b[:]))
	s.mu.Lock()
	s.keys[key] = h
	s.mu.Unlock()
	return key
}

func (s *Service) dropKey(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}
