package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// initTimeout is how long a new environment may take to ask for its first
// invocation, as on AWS.
const initTimeout = 10 * time.Second

// errNotDispatched: a warm environment died before it took the call, which
// then goes to a fresh one.
var errNotDispatched = errors.New("environment exited before taking the invocation")

// sandbox is one execution environment: a bootstrap process and the Runtime
// API it polls, on a loopback port of its own.
type sandbox struct {
	name   string
	gen    int
	cmd    *exec.Cmd
	srv    *http.Server
	holder *holder

	next   chan *call // unbuffered: a send completes when the runtime takes the call
	exited chan struct{}

	mu          sync.Mutex
	current     *call
	initErr     []byte
	initErrType string
	exitErr     error
	killed      bool
}

// runBinary runs c in a warm environment of f, or a new one.
func (s *Service) runBinary(f *function, c *call) outcome {
	for attempt := 0; ; attempt++ {
		sb, fresh, err := s.acquire(f)
		if err != nil {
			return errorOutcome("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: Couldn't find valid bootstrap(s): %v", c.id, err))
		}
		c.enter(sb.holder)
		out, err := sb.run(c)
		c.exit(s.clk, sb.holder)
		if errors.Is(err, errNotDispatched) && !fresh && attempt == 0 {
			continue
		}
		if err != nil {
			sb.kill()
			return out
		}
		s.release(f, sb)
		return out
	}
}

func (s *Service) acquire(f *function) (*sandbox, bool, error) {
	f.mu.Lock()
	for len(f.idle) > 0 {
		sb := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if !sb.dead() {
			f.mu.Unlock()
			return sb, false, nil
		}
	}
	cfg, gen := f.cfg, f.gen
	f.mu.Unlock()
	sb, err := s.startSandbox(cfg, gen)
	return sb, true, err
}

func (s *Service) release(f *function, sb *sandbox) {
	f.mu.Lock()
	if sb.gen == f.gen && !sb.dead() {
		f.idle = append(f.idle, sb)
		sb = nil
	}
	f.mu.Unlock()
	if sb != nil {
		sb.kill()
	}
}

func (s *Service) startSandbox(cfg FunctionConfig, gen int) (*sandbox, error) {
	if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("[%s]", cfg.Binary)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	sb := &sandbox{name: cfg.Name, gen: gen, next: make(chan *call), exited: make(chan struct{}), holder: &holder{clk: s.clk, name: cfg.Name}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", sb.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", sb.serveResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", sb.serveError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", sb.serveInitError)
	sb.srv = &http.Server{Handler: mux}

	key := s.newKey(sb.holder)
	env := s.runtimeEnv(cfg, filepath.Dir(cfg.Binary), key)
	env["AWS_LAMBDA_RUNTIME_API"] = ln.Addr().String()
	env["PATH"] = os.Getenv("PATH")
	vars := make([]string, 0, len(env)+len(cfg.Environment))
	for k, v := range cfg.Environment {
		if k != BinaryEnv {
			vars = append(vars, k+"="+v)
		}
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	sort.Strings(vars)

	cmd := exec.CommandContext(s.baseCtx, cfg.Binary)
	cmd.Dir = filepath.Dir(cfg.Binary)
	cmd.Env = vars
	logs := &prefixWriter{out: s.opts.Logs, prefix: cfg.Name + ": ", tee: sb.keepLine}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		s.dropKey(key)
		ln.Close()
		return nil, fmt.Errorf("[%s]: %v", cfg.Binary, err)
	}
	sb.cmd = cmd
	go sb.srv.Serve(ln)
	go func() {
		err := cmd.Wait()
		s.dropKey(key)
		logs.flush()
		sb.mu.Lock()
		sb.exitErr = err
		sb.mu.Unlock()
		close(sb.exited)
		sb.srv.Close()
	}()
	return sb, nil
}

// run hands c to the runtime and waits for its answer. The limits are real
// time: the process runs in real time and its context deadline comes from
// Lambda-Runtime-Deadline-Ms, which aws-lambda-go reads against the wall clock.
func (sb *sandbox) run(c *call) (outcome, error) {
	initCtx, cancel := context.WithTimeout(context.Background(), initTimeout+c.timeout)
	defer cancel()
	select {
	case sb.next <- c:
	case <-sb.exited:
		return sb.exitOutcome(c), errNotDispatched
	case <-initCtx.Done():
		return errorOutcome("Runtime.InitError", fmt.Sprintf("RequestId: %s Error: the runtime did not ask for an invocation within %s", c.id, initTimeout)), errors.New("init timeout")
	}
	runCtx, cancel2 := context.WithTimeout(context.Background(), c.timeout)
	defer cancel2()
	select {
	case o := <-c.done:
		return o, nil
	case <-sb.exited:
		select {
		case o := <-c.done: // answered, then exited (aws-lambda-go exits after a panic)
			return o, errors.New("exited")
		default:
		}
		return sb.exitOutcome(c), errors.New("exited")
	case <-runCtx.Done():
		return timeoutOutcome(c), errors.New("timed out")
	}
}

func (sb *sandbox) exitOutcome(c *call) outcome {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.initErr != nil {
		return outcome{payload: sb.initErr, errType: sb.initErrType}
	}
	msg := "Runtime exited without providing a reason"
	if sb.exitErr != nil {
		msg = "Runtime exited with error: " + sb.exitErr.Error()
	}
	return errorOutcome("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: %s", c.id, msg))
}

func (sb *sandbox) dead() bool {
	select {
	case <-sb.exited:
		return true
	default:
		return false
	}
}

func (sb *sandbox) kill() {
	sb.mu.Lock()
	if sb.killed {
		sb.mu.Unlock()
		return
	}
	sb.killed = true
	sb.mu.Unlock()
	if sb.cmd != nil && sb.cmd.Process != nil {
		sb.cmd.Process.Kill()
	}
	sb.srv.Close()
}

func (sb *sandbox) serveNext(w http.ResponseWriter, r *http.Request) {
	select {
	case c := <-sb.next:
		sb.mu.Lock()
		sb.current = c
		sb.mu.Unlock()
		deadline := time.Now().Add(c.timeout)
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", c.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", c.arn)
		h.Set("Lambda-Runtime-Trace-Id", c.traceID)
		if c.clientContext != "" {
			if b, err := base64.StdEncoding.DecodeString(c.clientContext); err == nil {
				h.Set("Lambda-Runtime-Client-Context", string(b))
			}
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(c.payload)
	case <-r.Context().Done():
	}
}

// take returns the call id names and ends it, or answers 400 itself.
func (sb *sandbox) take(w http.ResponseWriter, id string) *call {
	sb.mu.Lock()
	c := sb.current
	if c != nil && c.id == id {
		sb.current = nil
		sb.mu.Unlock()
		return c
	}
	sb.mu.Unlock()
	runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID: "+id)
	return nil
}

func (sb *sandbox) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	c := sb.take(w, r.PathValue("id"))
	if c == nil {
		return
	}
	// A streamed response that failed midway reports the error in trailers.
	if typ := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "" {
		b, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		c.done <- outcome{payload: b, errType: typ}
	} else {
		c.done <- outcome{payload: body}
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (sb *sandbox) serveError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	c := sb.take(w, r.PathValue("id"))
	if c == nil {
		return
	}
	c.done <- reportedError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func (sb *sandbox) serveInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o := reportedError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	sb.mu.Lock()
	sb.initErr, sb.initErrType = o.payload, o.errType
	sb.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// reportedError is what Lambda returns for an error the runtime posted: the
// body as it is when it is an error document, else one built around it.
func reportedError(body []byte, headerType string) outcome {
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) == nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		typ := doc.ErrorType
		if typ == "" {
			typ = headerType
		}
		if typ == "" {
			typ = "Unhandled"
		}
		return outcome{payload: body, errType: typ}
	}
	if headerType == "" {
		headerType = "Unhandled"
	}
	return errorOutcome(headerType, string(body))
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

// keepLine adds a line of the process's output to the log of the
// invocation it is running.
func (sb *sandbox) keepLine(line string) {
	sb.mu.Lock()
	c := sb.current
	sb.mu.Unlock()
	if c != nil {
		c.keep(line)
	}
}

// prefixWriter writes whole lines, each prefixed with the function name,
// and hands each to tee.
type prefixWriter struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
	tee    func(line string)
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(p.buf[:i]), "\r")
		fmt.Fprintf(p.out, "%s%s\n", p.prefix, line)
		if p.tee != nil {
			p.tee(line)
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.out, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
