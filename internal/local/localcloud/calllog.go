package localcloud

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Call is one API call the local cloud served.
type Call struct {
	Time      time.Time // on the cloud's clock
	Service   string
	Operation string
	Fields    map[string]string // key fields the service noted
	Error     string            // exception name; empty on success
	Caller    string            // the Lambda function that made it; empty from outside one
}

func (c Call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s:%s", c.Time.UTC().Format("15:04:05"), c.Service, c.Operation)
	keys := make([]string, 0, len(c.Fields))
	for k := range c.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, c.Fields[k])
	}
	if c.Error != "" {
		b.WriteString(" -> " + c.Error)
	} else {
		b.WriteString(" -> ok")
	}
	return b.String()
}

// CallLog records every call, for people (a readable line per call) and for
// tests and benchmarks (counts).
type CallLog struct {
	mu    sync.Mutex
	calls []Call
	out   io.Writer
}

// NewCallLog returns a log that also writes a line per call to out, if not nil.
func NewCallLog(out io.Writer) *CallLog { return &CallLog{out: out} }

func (l *CallLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	if l.out != nil {
		fmt.Fprintln(l.out, c.String())
	}
}

// Calls returns a copy of every call so far.
func (l *CallLog) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// Count counts calls to service:operation; an empty operation counts every
// call to the service, an empty service every call.
func (l *CallLog) Count(service, operation string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if (service == "" || c.Service == service) && (operation == "" || c.Operation == operation) {
			n++
		}
	}
	return n
}

// Reset forgets every call, so that a benchmark can count one run.
func (l *CallLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}
