package localcloud

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// QueryCompatible is implemented by an RPCService whose API was an AWS Query
// API before (CloudWatch). Its clients send "X-Amzn-Query-Mode: true" and
// read the legacy error code from the X-Amzn-Query-Error header
// ("Code;Sender"), which the SDKs prefer over __type (so that, say,
// InvalidParameterValueException reads as InvalidParameterValue).
type QueryCompatible interface {
	// QueryErrorCode returns the Query error code for an exception name.
	QueryErrorCode(errType string) string
}

// ErrorNamespacer is implemented by an RPCService that names its CBOR
// exceptions by full shape ID (com.amazonaws.cloudwatch#ResourceNotFound),
// as AWS does; the clients strip the namespace.
type ErrorNamespacer interface {
	ErrorNamespace() string
}

// serveCBOR serves Smithy RPC v2 CBOR: POST /service/<Service>/operation/<Op>
// with "smithy-protocol: rpc-v2-cbor" and a CBOR body (or none). The service
// gets the input as JSON; its output value is encoded to CBOR following its
// json tags (see awsproto.MarshalCBOR), so one RPCService serves both this
// and AWS JSON.
func (s *Server) serveCBOR(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/service/")
	name, op, _ := strings.Cut(rest, "/operation/")
	svc, ok := s.rpc[name]
	switch {
	case !ok:
		writeCBORError(w, r, nil, &awsproto.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: "the local cloud does not serve " + name})
		return
	case op == "" || strings.Contains(op, "/"):
		writeCBORError(w, r, svc, &awsproto.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: "malformed Smithy RPC v2 path " + r.URL.Path})
		return
	case r.Method != http.MethodPost:
		writeCBORError(w, r, svc, &awsproto.Error{Type: "UnknownOperationException", Status: http.StatusMethodNotAllowed,
			Message: fmt.Sprintf("Smithy RPC v2 requests are POST, not %s", r.Method)})
		return
	case !strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor"):
		writeCBORError(w, r, svc, awsproto.Errorf("SerializationException",
			"missing header smithy-protocol: rpc-v2-cbor (got %q)", r.Header.Get("Smithy-Protocol")))
		return
	}
	hold, done, ferr := s.arrive(r, svc.Name(), op)
	if ferr != nil {
		writeCBORError(w, r, svc, ferr)
		return
	}
	defer done()
	ctx, logCall, ferr := s.begin(r, svc.Name(), op, hold)
	if ferr != nil {
		writeCBORError(w, r, svc, ferr)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		e := &awsproto.Error{Type: "SerializationException", Message: err.Error()}
		logCall(e)
		writeCBORError(w, r, svc, e)
		return
	}
	input := []byte("{}")
	if len(body) > 0 {
		if input, err = awsproto.CBORToJSON(body); err != nil {
			e := awsproto.Errorf("SerializationException", "request body: %v", err)
			logCall(e)
			writeCBORError(w, r, svc, e)
			return
		}
		if bytes.Equal(bytes.TrimSpace(input), []byte("null")) {
			input = []byte("{}")
		}
	}
	out, err := svc.Call(ctx, op, input)
	logCall(err)
	if err != nil {
		writeCBORError(w, r, svc, asAWSError(err))
		return
	}
	if out == nil {
		out = struct{}{}
	}
	payload, err := awsproto.MarshalCBOR(out)
	if err != nil {
		writeCBORError(w, r, svc, &awsproto.Error{Type: "InternalFailure", Status: http.StatusInternalServerError, Message: err.Error()})
		return
	}
	setCBORHeaders(w)
	w.Write(payload)
}

func setCBORHeaders(w http.ResponseWriter) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-RequestId", requestID())
}

// writeCBORError answers with an RPC v2 CBOR error: the status, and a CBOR
// map with __type and message. svc may be nil when no service matched.
func writeCBORError(w http.ResponseWriter, r *http.Request, svc RPCService, e *awsproto.Error) {
	typ := e.Type
	if ns, ok := svc.(ErrorNamespacer); ok && !strings.Contains(typ, "#") {
		typ = ns.ErrorNamespace() + "#" + typ
	}
	if qc, ok := svc.(QueryCompatible); ok && strings.EqualFold(r.Header.Get("X-Amzn-Query-Mode"), "true") {
		fault := "Sender"
		if e.HTTPStatus() >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", qc.QueryErrorCode(e.Type)+";"+fault)
	}
	setCBORHeaders(w)
	w.WriteHeader(e.HTTPStatus())
	w.Write(awsproto.ErrorCBOR(typ, e.Message))
}
