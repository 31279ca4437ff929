package sfn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

// sdkService is how an aws-sdk integration reaches one local RPC service.
type sdkService struct {
	prefix      string // X-Amz-Target prefix
	contentType string
	errorName   string // the service's name in Step Functions error names
	camelCase   bool   // wire members are camelCase; Step Functions speaks PascalCase
}

// sdkServices are the local cloud's RPC services, by the service name in
// arn:aws:states:::aws-sdk:<service>:<action>.
var sdkServices = map[string]sdkService{
	"ecs":                      {"AmazonEC2ContainerServiceV20141113", "application/x-amz-json-1.1", "Ecs", true},
	"ecr":                      {"AmazonEC2ContainerRegistry_V20150921", "application/x-amz-json-1.1", "Ecr", true},
	"dynamodb":                 {"DynamoDB_20120810", "application/x-amz-json-1.0", "DynamoDb", false},
	"eventbridge":              {"AWSEvents", "application/x-amz-json-1.1", "EventBridge", false},
	"cloudwatch":               {"GraniteServiceVersion20100801", "application/x-amz-json-1.0", "CloudWatch", false},
	"resourcegroupstaggingapi": {"ResourceGroupsTaggingAPI_20170126", "application/x-amz-json-1.1", "ResourceGroupsTaggingApi", false},
	"sfn":                      {TargetPrefix, "application/x-amz-json-1.0", "Sfn", true},
}

// freeFormMaps are members whose values are maps with user keys: their keys
// are left alone when member names change case.
var freeFormMaps = map[string]bool{"dockerLabels": true, "options": true, "driverOpts": true, "labels": true}

// RunTask performs Task states for the local cloud (states.TaskRunner):
// Lambda functions, lambda:invoke, events:putEvents and aws-sdk calls.
func (s *Service) RunTask(ctx context.Context, req states.TaskRequest) (json.RawMessage, error) {
	resource := req.Resource
	wait := strings.HasSuffix(resource, ".waitForTaskToken")
	resource = strings.TrimSuffix(resource, ".waitForTaskToken")
	parts := strings.Split(resource, ":")
	switch {
	case len(parts) >= 7 && parts[2] == "lambda" && parts[5] == "function":
		res, err := s.invokeLambda(ctx, resource, "", req.Input)
		if err != nil {
			return nil, err
		}
		return res.payloadJSON(), nil
	case len(parts) == 7 && parts[2] == "states" && parts[5] == "lambda" && parts[6] == "invoke":
		return s.lambdaInvoke(ctx, req.Input, wait)
	case len(parts) == 7 && parts[2] == "states" && parts[5] == "events" && parts[6] == "putEvents":
		return s.putEvents(ctx, req.Input, wait)
	case len(parts) == 8 && parts[2] == "states" && parts[5] == "aws-sdk":
		if strings.Contains(parts[7], ".") {
			break // .sync and other patterns are not supported for aws-sdk, as on AWS
		}
		out, err := s.sdkCall(ctx, parts[6], parts[7], req.Input)
		if err != nil || wait {
			return nil, err
		}
		return out, nil
	}
	return nil, &states.TaskFailure{ErrorName: "States.Runtime", Cause: fmt.Sprintf("the local cloud does not support the resource %s", req.Resource)}
}

// serve sends one request through the local cloud's handler.
func (s *Service) serve(ctx context.Context, method, path string, header http.Header, body []byte) (*httptest.ResponseRecorder, error) {
	s.mu.Lock()
	cloud := s.cloud
	s.mu.Unlock()
	if cloud == nil {
		return nil, fmt.Errorf("sfn: no local cloud to call (SetCloud)")
	}
	r, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		r.Header[k] = v
	}
	// The region rides in the SigV4 scope, as from any SDK.
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=states/20060102/"+s.region+"/states/aws4_request, SignedHeaders=host, Signature=0")
	rec := httptest.NewRecorder()
	// The server holds the clock busy itself once the request arrives; the
	// task lets go of it so that injected latency can pass on the clock.
	resume := states.Idle(ctx)
	cloud.ServeHTTP(rec, r)
	resume()
	return rec, nil
}

// serviceError is an AWS exception answered by a service.
type serviceError struct {
	status    int
	typ, msg  string
	requestID string
}

func errorOf(rec *httptest.ResponseRecorder) *serviceError {
	if rec.Code < 300 {
		return nil
	}
	var body struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Msg2    string `json:"Message"`
	}
	json.Unmarshal(rec.Body.Bytes(), &body)
	typ := rec.Header().Get("X-Amzn-ErrorType")
	if typ == "" {
		typ = body.Type
	}
	typ, _, _ = strings.Cut(typ, ":")
	if i := strings.LastIndex(typ, "#"); i >= 0 {
		typ = typ[i+1:]
	}
	if typ == "" {
		typ = http.StatusText(rec.Code)
	}
	msg := body.Message
	if msg == "" {
		msg = body.Msg2
	}
	return &serviceError{status: rec.Code, typ: typ, msg: msg, requestID: rec.Header().Get("X-Amzn-RequestId")}
}

// failure names a service error as Step Functions does, with the Java SDK's
// message as the cause.
func (e *serviceError) failure(prefix, service string) *states.TaskFailure {
	return &states.TaskFailure{
		ErrorName: prefix + "." + e.typ,
		Cause: fmt.Sprintf("%s (Service: %s; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)",
			e.msg, service, e.status, e.typ, e.requestID),
	}
}

type lambdaResult struct {
	status  int
	header  http.Header
	payload []byte
}

func (r lambdaResult) payloadJSON() json.RawMessage {
	if len(bytes.TrimSpace(r.payload)) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(r.payload) {
		return r.payload
	}
	b, _ := json.Marshal(string(r.payload))
	return b
}

// invokeLambda calls Invoke through the local cloud; function errors and
// service errors come back as *states.TaskFailure named as on AWS.
func (s *Service) invokeLambda(ctx context.Context, function, invocationType string, payload []byte) (lambdaResult, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if invocationType != "" {
		h.Set("X-Amz-Invocation-Type", invocationType)
	}
	rec, err := s.serve(ctx, http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(function)+"/invocations", h, payload)
	if err != nil {
		return lambdaResult{}, err
	}
	if e := errorOf(rec); e != nil {
		// Lambda answers throttling with TooManyRequestsException; an
		// injected throttle says ThrottlingException.
		if e.typ == "ThrottlingException" {
			e.typ = "TooManyRequestsException"
		}
		return lambdaResult{}, e.failure("Lambda", "AWSLambda")
	}
	res := lambdaResult{status: rec.Code, header: rec.Header(), payload: rec.Body.Bytes()}
	if rec.Header().Get("X-Amz-Function-Error") != "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		json.Unmarshal(res.payload, &doc)
		name := doc.ErrorType
		if name == "" {
			name = "Lambda.Unknown"
		}
		return lambdaResult{}, &states.TaskFailure{ErrorName: name, Cause: string(res.payload)}
	}
	return res, nil
}

// lambdaInvoke is arn:aws:states:::lambda:invoke: Parameters are Invoke's
// input, the result is wrapped as the Java SDK's InvokeResult.
func (s *Service) lambdaInvoke(ctx context.Context, input json.RawMessage, wait bool) (json.RawMessage, error) {
	var p struct {
		FunctionName   string
		Payload        json.RawMessage
		InvocationType string
		Qualifier      string
	}
	if err := json.Unmarshal(input, &p); err != nil || p.FunctionName == "" {
		return nil, &states.TaskFailure{ErrorName: "States.Runtime", Cause: "lambda:invoke needs Parameters with a FunctionName"}
	}
	fn := p.FunctionName
	if p.Qualifier != "" {
		fn += ":" + p.Qualifier
	}
	res, err := s.invokeLambda(ctx, fn, p.InvocationType, p.Payload)
	if err != nil || wait {
		return nil, err
	}
	single := map[string]string{}
	all := map[string][]string{}
	keys := make([]string, 0, len(res.header))
	for k := range res.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		single[k] = res.header.Get(k)
		all[k] = res.header.Values(k)
	}
	out := map[string]any{
		"ExecutedVersion": res.header.Get("X-Amz-Executed-Version"),
		"Payload":         res.payloadJSON(),
		"SdkHttpMetadata": map[string]any{"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": res.status},
		"SdkResponseMetadata": map[string]string{
			"RequestId": res.header.Get("X-Amzn-RequestId"),
		},
		"StatusCode": res.status,
	}
	if res.status == http.StatusAccepted {
		out["Payload"] = ""
		delete(out, "ExecutedVersion")
	}
	return json.Marshal(out)
}

// putEvents is arn:aws:states:::events:putEvents: a Detail given as JSON is
// sent as its text, as Step Functions does.
func (s *Service) putEvents(ctx context.Context, input json.RawMessage, wait bool) (json.RawMessage, error) {
	var p struct {
		Entries []map[string]json.RawMessage
	}
	if err := json.Unmarshal(input, &p); err != nil {
		return nil, &states.TaskFailure{ErrorName: "States.Runtime", Cause: "events:putEvents needs Parameters with Entries"}
	}
	for _, e := range p.Entries {
		if d, ok := e["Detail"]; ok && !bytes.HasPrefix(bytes.TrimSpace(d), []byte(`"`)) {
			text, _ := json.Marshal(string(d))
			e["Detail"] = text
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out, err := s.rpc(ctx, sdkServices["eventbridge"], "PutEvents", body, "EventBridge")
	if err != nil {
		return nil, err
	}
	var res struct{ FailedEntryCount int }
	json.Unmarshal(out, &res)
	if res.FailedEntryCount > 0 {
		return nil, &states.TaskFailure{ErrorName: "EventBridge.FailedEntry", Cause: string(out)}
	}
	if wait {
		return nil, nil
	}
	return out, nil
}

// sdkCall is arn:aws:states:::aws-sdk:<service>:<action> against a local
// RPC service.
func (s *Service) sdkCall(ctx context.Context, service, action string, input json.RawMessage) (json.RawMessage, error) {
	svc, ok := sdkServices[service]
	if !ok || action == "" {
		return nil, &states.TaskFailure{ErrorName: "States.Runtime", Cause: fmt.Sprintf("the local cloud does not serve aws-sdk:%s", service)}
	}
	op := string(unicode.ToUpper(rune(action[0]))) + action[1:]
	body := []byte(input)
	if svc.camelCase {
		body = recase(input, unicode.ToLower)
	}
	out, err := s.rpc(ctx, svc, op, body, svc.errorName)
	if err != nil {
		return nil, err
	}
	if svc.camelCase {
		out = recase(out, unicode.ToUpper)
	}
	return out, nil
}

func (s *Service) rpc(ctx context.Context, svc sdkService, op string, body []byte, errPrefix string) (json.RawMessage, error) {
	h := http.Header{}
	h.Set("X-Amz-Target", svc.prefix+"."+op)
	h.Set("Content-Type", svc.contentType)
	rec, err := s.serve(ctx, http.MethodPost, "/", h, body)
	if err != nil {
		return nil, err
	}
	if e := errorOf(rec); e != nil {
		// Step Functions names errors Service.NameException, adding the suffix when the service has none.
		if !strings.HasSuffix(e.typ, "Exception") {
			e.typ += "Exception"
		}
		return nil, e.failure(errPrefix, svc.errorName)
	}
	out := rec.Body.Bytes()
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("{}")
	}
	return out, nil
}

// recase changes the first letter of every member name, leaving the keys of
// free-form maps alone.
func recase(raw []byte, f func(rune) rune) []byte {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return raw
	}
	out, err := json.Marshal(recaseValue(v, f))
	if err != nil {
		return raw
	}
	return out
}

func recaseValue(v any, f func(rune) rune) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			nk := k
			if k != "" {
				nk = string(f(rune(k[0]))) + k[1:]
			}
			if k != "" && freeFormMaps[strings.ToLower(k[:1])+k[1:]] {
				m[nk] = val
				continue
			}
			m[nk] = recaseValue(val, f)
		}
		return m
	case []any:
		for i := range t {
			t[i] = recaseValue(t[i], f)
		}
		return t
	}
	return v
}
