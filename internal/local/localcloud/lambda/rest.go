package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// route is one REST operation: method, path pattern, name.
type route struct {
	method string
	re     *regexp.Regexp
	op     string
}

var (
	lambdaPath = regexp.MustCompile(`^/\d{4}-\d{2}-\d{2}/(functions|tags|layers|event-source-mappings|account-settings|code-signing-configs)(/|$)`)
	routes     = []route{
		{"POST", regexp.MustCompile(`^/2015-03-31/functions/?$`), "CreateFunction"},
		{"GET", regexp.MustCompile(`^/2015-03-31/functions/?$`), "ListFunctions"},
		{"GET", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/?$`), "GetFunction"},
		{"DELETE", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/?$`), "DeleteFunction"},
		{"GET", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/configuration$`), "GetFunctionConfiguration"},
		{"PUT", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/configuration$`), "UpdateFunctionConfiguration"},
		{"PUT", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/code$`), "UpdateFunctionCode"},
		{"POST", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/invocations$`), "Invoke"},
		{"POST", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/policy/?$`), "AddPermission"},
		{"GET", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/policy/?$`), "GetPolicy"},
		{"DELETE", regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/policy/([^/]+)$`), "RemovePermission"},
	}
)

// Operation names the Lambda operation r asks for, "Unsupported" for a
// Lambda path the local cloud does not serve, or "" when r is not for Lambda.
func (s *Service) Operation(r *http.Request) string {
	op, _ := match(r)
	return op
}

func match(r *http.Request) (string, []string) {
	p := r.URL.EscapedPath()
	if !lambdaPath.MatchString(p) {
		return "", nil
	}
	for _, rt := range routes {
		if rt.method != r.Method {
			continue
		}
		if m := rt.re.FindStringSubmatch(p); m != nil {
			args := make([]string, 0, len(m)-1)
			for _, a := range m[1:] {
				u, err := url.PathUnescape(a)
				if err != nil {
					u = a
				}
				args = append(args, u)
			}
			return rt.op, args
		}
	}
	return "Unsupported", nil
}

// ServeHTTP answers the Lambda REST API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, args := match(r)
	ctx := r.Context()
	var name string
	if len(args) > 0 {
		name = args[0]
		awsproto.Note(ctx, "function", name)
	}
	var err error
	switch op {
	case "CreateFunction":
		err = s.httpCreate(ctx, w, r)
	case "ListFunctions":
		err = s.httpList(ctx, w, r)
	case "GetFunction":
		err = s.httpGet(ctx, w, name, true)
	case "GetFunctionConfiguration":
		err = s.httpGet(ctx, w, name, false)
	case "DeleteFunction":
		if err = s.DeleteFunction(ctx, name); err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
	case "UpdateFunctionConfiguration":
		err = s.httpUpdateConfig(ctx, w, r, name)
	case "UpdateFunctionCode":
		err = s.httpUpdateCode(ctx, w, r, name)
	case "Invoke":
		err = s.httpInvoke(ctx, w, r, name)
	case "AddPermission":
		err = s.httpAddPermission(ctx, w, r, name)
	case "GetPolicy":
		err = s.httpGetPolicy(ctx, w, name)
	case "RemovePermission":
		err = s.removePermission(name, args[1])
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		err = awsproto.UnknownOperation("lambda", r.Method+" "+r.URL.Path)
	}
	if err != nil {
		writeError(w, err)
	}
}

func writeError(w http.ResponseWriter, err error) {
	var e *awsproto.Error
	if !errors.As(err, &e) {
		e = &awsproto.Error{Type: "ServiceException", Status: 500, Message: err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.Header().Set("X-Amzn-RequestId", newID())
	w.WriteHeader(e.HTTPStatus())
	body := map[string]string{"Type": "User", "message": e.Message}
	if e.HTTPStatus() >= 500 {
		body["Type"] = "Service"
	}
	json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", newID())
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && err != io.EOF {
		return awsproto.Errorf("InvalidRequestContentException", "Could not parse request body into json: %v", err)
	}
	return nil
}

// wire shapes, as the REST-JSON protocol spells them

type environment struct {
	Variables map[string]string `json:"Variables,omitempty"`
}

type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int32             `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	TracingConfig    map[string]string `json:"TracingConfig"`
	RevisionID       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage map[string]int    `json:"EphemeralStorage"`
	LoggingConfig    map[string]string `json:"LoggingConfig"`
}

func wireConfig(c FunctionConfig) functionConfiguration {
	out := functionConfiguration{
		FunctionName: c.Name, FunctionArn: c.Arn, Runtime: c.Runtime, Role: c.Role, Handler: c.Handler,
		CodeSize: c.CodeSize, Description: c.Description, Timeout: int(c.Timeout / time.Second),
		MemorySize: c.MemorySize, LastModified: c.LastModified.UTC().Format("2006-01-02T15:04:05.000+0000"),
		CodeSha256: c.CodeSha256, Version: "$LATEST", TracingConfig: map[string]string{"Mode": c.TracingMode},
		RevisionID: c.RevisionID, State: "Active", LastUpdateStatus: "Successful", PackageType: "Zip",
		Architectures: c.Architectures, EphemeralStorage: map[string]int{"Size": 512},
		LoggingConfig: map[string]string{"LogFormat": c.LogFormat, "LogGroup": "/aws/lambda/" + c.Name},
	}
	if len(c.Environment) > 0 {
		out.Environment = &environment{Variables: c.Environment}
	}
	return out
}

type createRequest struct {
	FunctionName string
	Role         string
	Runtime      string
	Handler      string
	Description  string
	Timeout      int
	MemorySize   int32
	PackageType  string
	Code         struct {
		ZipFile  []byte
		S3Bucket string
		S3Key    string
		ImageUri string
	}
	Environment   *environment
	Tags          map[string]string
	Architectures []string
	TracingConfig *struct{ Mode string }
	LoggingConfig *struct{ LogFormat string }
}

func (s *Service) httpCreate(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var in createRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	awsproto.Note(ctx, "function", in.FunctionName)
	if in.PackageType == "Image" || in.Code.ImageUri != "" {
		return awsproto.Errorf("InvalidParameterValueException", "the local cloud runs Zip functions only (a bootstrap), not container images")
	}
	if in.Code.S3Bucket != "" {
		return awsproto.Errorf("InvalidParameterValueException", "the local cloud has no S3: give Code.ZipFile or the %s variable", BinaryEnv)
	}
	ci := CreateInput{
		Name: in.FunctionName, Role: in.Role, Runtime: in.Runtime, Handler: in.Handler,
		Description: in.Description, Timeout: time.Duration(in.Timeout) * time.Second, MemorySize: in.MemorySize,
		Tags: in.Tags, Architectures: in.Architectures, ZipFile: in.Code.ZipFile,
	}
	if in.Environment != nil {
		ci.Environment = in.Environment.Variables
	}
	if in.TracingConfig != nil {
		ci.TracingMode = in.TracingConfig.Mode
	}
	if in.LoggingConfig != nil {
		ci.LogFormat = in.LoggingConfig.LogFormat
	}
	fn, err := s.CreateFunction(ctx, ci)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireConfig(fn))
}

func (s *Service) httpList(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	max := 50
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return awsproto.Validation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", v)
		}
		max = min(n, 50)
	}
	all := s.ListFunctions(ctx)
	start := 0
	if m := q.Get("Marker"); m != "" {
		start = -1
		for i, f := range all {
			if f.Name > m {
				start = i
				break
			}
		}
		if start < 0 {
			start = len(all)
		}
	}
	end := min(start+max, len(all))
	out := struct {
		Functions  []functionConfiguration `json:"Functions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Functions: []functionConfiguration{}}
	for _, f := range all[start:end] {
		out.Functions = append(out.Functions, wireConfig(f))
	}
	if end < len(all) {
		out.NextMarker = all[end-1].Name
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpGet(ctx context.Context, w http.ResponseWriter, name string, full bool) error {
	f, err := s.lookup(name)
	if err != nil {
		return err
	}
	cfg := f.config()
	if !full {
		return writeJSON(w, http.StatusOK, wireConfig(cfg))
	}
	out := map[string]any{
		"Configuration": wireConfig(cfg),
		"Code":          map[string]string{"RepositoryType": "S3", "Location": "file://" + cfg.Binary},
	}
	if len(cfg.Tags) > 0 {
		out["Tags"] = cfg.Tags
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) httpUpdateConfig(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	var in struct {
		Environment   *environment
		Timeout       *int
		MemorySize    *int32
		Description   *string
		Role          *string
		Handler       *string
		Runtime       *string
		RevisionId    string
		TracingConfig *struct{ Mode string }
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	up := UpdateConfigInput{MemorySize: in.MemorySize, Description: in.Description, Role: in.Role,
		Handler: in.Handler, Runtime: in.Runtime, RevisionID: in.RevisionId}
	if in.Environment != nil {
		vars := in.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		up.Environment = &vars
	}
	if in.Timeout != nil {
		d := time.Duration(*in.Timeout) * time.Second
		up.Timeout = &d
	}
	if in.TracingConfig != nil {
		up.TracingMode = &in.TracingConfig.Mode
	}
	fn, err := s.UpdateFunctionConfiguration(ctx, name, up)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireConfig(fn))
}

func (s *Service) httpUpdateCode(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	var in struct {
		ZipFile  []byte
		S3Bucket string
		ImageUri string
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.S3Bucket != "" || in.ImageUri != "" {
		return awsproto.Errorf("InvalidParameterValueException", "the local cloud takes code as ZipFile only")
	}
	fn, err := s.UpdateFunctionCode(ctx, name, "", in.ZipFile)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireConfig(fn))
}

func (s *Service) httpInvoke(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		name += ":" + q
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		return awsproto.Errorf("InvalidRequestContentException", "read payload: %v", err)
	}
	inv := Invocation{Payload: payload, ClientContext: r.Header.Get("X-Amz-Client-Context"), TraceID: r.Header.Get("X-Amzn-Trace-Id")}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ != "" {
		awsproto.Note(ctx, "type", typ)
	}
	switch typ {
	case "", "RequestResponse":
		res, err := s.Invoke(ctx, name, inv)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-RequestId", res.RequestID)
		h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
		if r.Header.Get("X-Amz-Log-Type") == "Tail" {
			h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.Log))
		}
		if res.FunctionError != "" {
			h.Set("X-Amz-Function-Error", res.FunctionError)
			awsproto.Note(ctx, "functionError", res.ErrorType())
		}
		w.WriteHeader(http.StatusOK)
		w.Write(res.Payload)
		return nil
	case "Event":
		id, err := s.InvokeAsync(ctx, name, inv)
		if err != nil {
			return err
		}
		w.Header().Set("X-Amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
		return nil
	case "DryRun":
		if _, err := s.lookup(name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return awsproto.Validation("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)
}

func (s *Service) httpAddPermission(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	var in struct {
		StatementId   string
		Action        string
		Principal     string
		SourceArn     string
		SourceAccount string
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.StatementId == "" || in.Action == "" || in.Principal == "" {
		return awsproto.Validation("StatementId, Action and Principal are required")
	}
	f, err := s.lookup(name)
	if err != nil {
		return err
	}
	cfg := f.config()
	stmt := map[string]any{
		"Sid": in.StatementId, "Effect": "Allow", "Action": in.Action, "Resource": cfg.Arn,
		"Principal": map[string]string{"Service": in.Principal},
	}
	if strings.HasPrefix(in.Principal, "arn:") || !strings.Contains(in.Principal, ".") {
		stmt["Principal"] = map[string]string{"AWS": in.Principal}
	}
	if in.SourceArn != "" {
		stmt["Condition"] = map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": in.SourceArn}}
	}
	b, _ := json.Marshal(stmt)
	f.mu.Lock()
	for _, p := range f.policy {
		if p.sid == in.StatementId {
			f.mu.Unlock()
			return &awsproto.Error{Type: "ResourceConflictException", Status: 409,
				Message: fmt.Sprintf("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)}
		}
	}
	f.policy = append(f.policy, permission{sid: in.StatementId, statement: b})
	f.mu.Unlock()
	return writeJSON(w, http.StatusCreated, map[string]string{"Statement": string(b)})
}

func (s *Service) httpGetPolicy(ctx context.Context, w http.ResponseWriter, name string) error {
	f, err := s.lookup(name)
	if err != nil {
		return err
	}
	f.mu.Lock()
	stmts := make([]json.RawMessage, 0, len(f.policy))
	for _, p := range f.policy {
		stmts = append(stmts, p.statement)
	}
	rev := f.cfg.RevisionID
	f.mu.Unlock()
	if len(stmts) == 0 {
		return &awsproto.Error{Type: "ResourceNotFoundException", Status: 404, Message: "The resource you requested does not exist."}
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": stmts})
	return writeJSON(w, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": rev})
}

func (s *Service) removePermission(name, sid string) error {
	f, err := s.lookup(name)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.policy {
		if p.sid == sid {
			f.policy = append(f.policy[:i], f.policy[i+1:]...)
			return nil
		}
	}
	return &awsproto.Error{Type: "ResourceNotFoundException", Status: 404, Message: "Statement " + sid + " is not found in resource policy."}
}
