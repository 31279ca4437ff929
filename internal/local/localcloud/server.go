package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// RPCService is a service reached through an RPC protocol: AWS JSON 1.0/1.1
// (X-Amz-Target: Prefix.Operation) or Smithy RPC v2 CBOR
// (/service/Prefix/operation/Operation). The server decodes the protocol; the
// service sees the input as JSON and returns a value to encode, or an error
// (an *awsproto.Error for an AWS exception).
type RPCService interface {
	Name() string         // short name for the call log and faults: "ecs"
	TargetPrefix() string // "AmazonEC2ContainerServiceV20141113"
	Call(ctx context.Context, op string, input json.RawMessage) (any, error)
}

// RESTService is a service with a REST protocol (Lambda). It answers the
// requests it owns itself, and names the operation for the call log.
type RESTService interface {
	Name() string
	// Operation names the operation r asks for, or "" if r is not for this service.
	Operation(r *http.Request) string
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

// Server routes AWS API requests to the services, logs every call, and
// applies injected API faults.
type Server struct {
	Clock   clock.Clock
	Account string
	Region  string // default when a request carries none
	Log     *CallLog
	Faults  *Faults

	// Lend, when set, is called as a request arrives: a caller that holds
	// the clock busy (a function's invocation) lets go until leave is called.
	Lend func(r *http.Request) (leave func())
	// Caller, when set, names the Lambda function that made a call, for
	// the call log.
	Caller func(r *http.Request) string
	// Control, when set, serves the control API under ControlPrefix.
	Control http.Handler

	rpc  map[string]RPCService
	rest []RESTService

	mu      sync.Mutex
	limiter *limiter // the realism mode's token buckets (SetRealism); nil: off
}

// NewServer returns a server with no services.
func NewServer(clk clock.Clock, account, region string, log *CallLog) *Server {
	if log == nil {
		log = NewCallLog(nil)
	}
	return &Server{Clock: clk, Account: account, Region: region, Log: log, Faults: &Faults{}, rpc: map[string]RPCService{}}
}

// AddRPC registers an RPC service.
func (s *Server) AddRPC(svc RPCService) { s.rpc[svc.TargetPrefix()] = svc }

// AddREST registers a REST service.
func (s *Server) AddREST(svc RESTService) { s.rest = append(s.rest, svc) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Control != nil && strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.Control.ServeHTTP(w, r)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveJSON(w, r, target)
		return
	}
	if isQuery(r) {
		s.serveQuery(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/service/") && strings.Contains(r.URL.Path, "/operation/") {
		s.serveCBOR(w, r)
		return
	}
	for _, svc := range s.rest {
		if op := svc.Operation(r); op != "" {
			s.serveREST(w, r, svc, op)
			return
		}
	}
	writeJSONError(w, "application/json", &awsproto.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
		Message: fmt.Sprintf("the local cloud serves no API at %s %s", r.Method, r.URL.Path)})
}

// arrive marks the request as work in progress and applies the injected
// latency, with the hold let go during the wait: holding the clock busy
// across a wait on it would stop time for good. A caller that holds the
// clock itself (a Lambda function calling back) lends its hold through Lend
// while it waits for the answer. done ends the request.
func (s *Server) arrive(r *http.Request, service, op string) (hold *awsproto.Hold, done func(), err *awsproto.Error) {
	busy := s.Clock.Busy()
	leave := func() {}
	if s.Lend != nil {
		leave = s.Lend(r)
	}
	if d := s.Faults.latency(service, op); d > 0 {
		busy()
		if err := s.Clock.Sleep(r.Context(), d); err != nil {
			leave()
			return nil, nil, &awsproto.Error{Type: "RequestCanceled", Message: err.Error()}
		}
		busy = s.Clock.Busy()
	}
	hold = awsproto.NewHold(busy)
	return hold, func() { leave(); hold.Release() }, nil
}

// begin is what every protocol does before the service runs (after
// arrive): the request record, throttling (injected faults, then the
// realism mode's token buckets). It returns the context for the service and a
// func that logs the outcome.
func (s *Server) begin(r *http.Request, service, op string, hold *awsproto.Hold) (context.Context, func(error), *awsproto.Error) {
	ctx := r.Context()
	req := &awsproto.Request{Service: service, Operation: op, Region: regionOf(r, s.Region), Account: s.Account, Hold: hold}
	ctx = awsproto.WithRequest(ctx, req)
	log := func(err error) {
		c := Call{Time: s.Clock.Now(), Service: service, Operation: op, Fields: req.Fields()}
		if s.Caller != nil {
			c.Caller = s.Caller(r)
		}
		if err != nil {
			c.Error = errorType(err)
		}
		s.Log.add(c)
	}
	if s.Faults.throttled(service, op) {
		e := awsproto.Throttling(service, op)
		log(e)
		return nil, nil, e
	}
	if lim := s.realism(); lim != nil {
		if e := lim.take(req.Account, req.Region, service, op, accessKeyOf(r)); e != nil {
			log(e)
			return nil, nil, e
		}
	}
	if code := s.Faults.cancelled(service, op); code != "" {
		e := awsproto.Errorf("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", code)
		// One reason per item would be exact; the client reads them by
		// index, and two cover a record and its ledger.
		e.Fields = map[string]any{"CancellationReasons": []map[string]any{{"Code": code}, {"Code": code}}}
		log(e)
		return nil, nil, e
	}
	return ctx, log, nil
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, target string) {
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/x-amz-json-1.1"
	}
	prefix, op, _ := strings.Cut(target, ".")
	svc, ok := s.rpc[prefix]
	if !ok {
		writeJSONError(w, contentType, &awsproto.Error{Type: "UnknownOperationException", Message: "the local cloud does not serve " + target})
		return
	}
	hold, done, ferr := s.arrive(r, svc.Name(), op)
	if ferr != nil {
		writeJSONError(w, contentType, ferr)
		return
	}
	defer done()
	ctx, logCall, ferr := s.begin(r, svc.Name(), op, hold)
	if ferr != nil {
		writeJSONError(w, contentType, ferr)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		logCall(err)
		writeJSONError(w, contentType, &awsproto.Error{Type: "SerializationException", Message: err.Error()})
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	out, err := svc.Call(ctx, op, body)
	logCall(err)
	if err != nil {
		writeJSONError(w, contentType, asAWSError(err))
		return
	}
	if out == nil {
		out = struct{}{}
	}
	payload, err := json.Marshal(out)
	if err != nil {
		writeJSONError(w, contentType, &awsproto.Error{Type: "InternalFailure", Status: 500, Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", requestID())
	// DynamoDB sends the body's CRC32 and its SDK checks it (errors too),
	// warning on every response without one; other services ignore it.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(payload)), 10))
	w.Write(payload)
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, svc RESTService, op string) {
	hold, done, ferr := s.arrive(r, svc.Name(), op)
	if ferr != nil {
		WriteRESTError(w, ferr)
		return
	}
	defer done()
	ctx, logCall, ferr := s.begin(r, svc.Name(), op, hold)
	if ferr != nil {
		WriteRESTError(w, ferr)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	svc.ServeHTTP(rec, r.WithContext(ctx))
	var err error
	if rec.errType != "" {
		err = &awsproto.Error{Type: rec.errType}
	}
	logCall(err)
}

// WriteRESTError answers a REST-JSON request with an AWS error.
func WriteRESTError(w http.ResponseWriter, e *awsproto.Error) {
	writeJSONError(w, "application/json", e)
}

func writeJSONError(w http.ResponseWriter, contentType string, e *awsproto.Error) {
	body := map[string]any{"__type": e.Type, "message": e.Message, "Message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	payload, _ := json.Marshal(body)
	payload = append(payload, '\n')
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(payload)), 10))
	w.WriteHeader(e.HTTPStatus())
	w.Write(payload)
}

// asAWSError turns any error into an AWS exception; errors that are not
// AWS exceptions are the local cloud's own bugs and surface as InternalFailure.
func asAWSError(err error) *awsproto.Error {
	var e *awsproto.Error
	if errors.As(err, &e) {
		return e
	}
	return &awsproto.Error{Type: "InternalFailure", Status: http.StatusInternalServerError, Message: err.Error()}
}

func errorType(err error) string {
	return asAWSError(err).Type
}

// regionOf reads the region from the SigV4 credential scope.
func regionOf(r *http.Request, fallback string) string {
	auth := r.Header.Get("Authorization")
	_, scope, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return fallback
	}
	scope, _, _ = strings.Cut(scope, ",")
	parts := strings.Split(scope, "/")
	if len(parts) >= 3 && parts[2] != "" {
		return parts[2]
	}
	return fallback
}

// accessKeyOf reads the access key ID from the SigV4 credential scope.
func accessKeyOf(r *http.Request) string {
	_, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(scope, "/")
	return key
}

type statusRecorder struct {
	http.ResponseWriter
	errType string
}

func (s *statusRecorder) WriteHeader(code int) {
	if code >= 400 {
		s.errType = s.Header().Get("X-Amzn-ErrorType")
		if s.errType == "" {
			s.errType = http.StatusText(code)
		}
	}
	s.ResponseWriter.WriteHeader(code)
}
