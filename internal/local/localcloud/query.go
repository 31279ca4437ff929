package localcloud

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// The AWS query protocol (awsquery): form-encoded Action=Op&Version=...
// requests, XML answers. STS speaks only it, and AWS CLIs older than
// CloudWatch's move to Smithy RPC v2 CBOR (botocore before 1.37, e.g.
// Debian's awscli 2.9) send CloudWatch requests in it. The service is named
// by the SigV4 credential scope.
//
// STS answers GetCallerIdentity for the local account. CloudWatch requests
// are turned into the JSON its RPCService reads: "A.member.1" members become
// lists, "A.B" nested members objects, and the members queryNumbers names
// numbers or booleans (awsquery carries every value as a string and the
// local cloud holds no shapes); the answer's JSON becomes XML elements, lists
// as <member> items, timestamps as epoch seconds (which botocore reads).

// queryServices maps the SigV4 signing name to the RPC target prefix.
var queryServices = map[string]string{"monitoring": "GraniteServiceVersion20100801"}

// queryNumbers are the non-string members of the CloudWatch inputs sent
// over awsquery.
var queryNumbers = map[string]string{
	"Period": "number", "EvaluationPeriods": "number", "DatapointsToAlarm": "number", "Threshold": "number",
	"MaxRecords": "number", "ActionsEnabled": "bool",
}

const queryNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

// isQuery reports whether r is an awsquery request.
func isQuery(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return r.Header.Get("X-Amz-Target") == "" && (strings.HasPrefix(ct, "application/x-www-form-urlencoded") ||
		(r.Method == http.MethodGet && r.URL.Query().Get("Action") != ""))
}

// signingName reads the service from the SigV4 credential scope.
func signingName(r *http.Request) string {
	_, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	scope, _, _ = strings.Cut(scope, ",")
	parts := strings.Split(scope, "/")
	if len(parts) >= 4 {
		return parts[3]
	}
	return ""
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeQueryError(w, "", &awsproto.Error{Type: "MalformedQueryString", Message: err.Error()})
		return
	}
	op := r.Form.Get("Action")
	service := signingName(r)
	var name string
	var call func() (any, error)
	switch {
	case service == "sts":
		name = "sts"
		call = func() (any, error) { return s.sts(op) }
	case queryServices[service] != "" && s.rpc[queryServices[service]] != nil:
		svc := s.rpc[queryServices[service]]
		name = svc.Name()
		input, err := queryToJSON(r.Form)
		if err != nil {
			writeQueryError(w, "", &awsproto.Error{Type: "MalformedQueryString", Message: err.Error()})
			return
		}
		call = func() (any, error) { return svc.Call(r.Context(), op, input) }
	default:
		writeQueryError(w, "", &awsproto.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: fmt.Sprintf("the local cloud serves no query API for service %q (action %s)", service, op)})
		return
	}
	hold, done, ferr := s.arrive(r, name, op)
	if ferr != nil {
		writeQueryError(w, name, ferr)
		return
	}
	defer done()
	ctx, logCall, ferr := s.begin(r, name, op, hold)
	if ferr != nil {
		writeQueryError(w, name, ferr)
		return
	}
	*r = *r.WithContext(ctx)
	out, err := call()
	logCall(err)
	if err != nil {
		writeQueryError(w, name, asAWSError(err))
		return
	}
	body, err := queryResponse(op, name, out)
	if err != nil {
		writeQueryError(w, name, &awsproto.Error{Type: "InternalFailure", Status: 500, Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(body)
}

// sts answers the STS actions a client meets locally.
func (s *Server) sts(op string) (any, error) {
	if op != "GetCallerIdentity" {
		return nil, awsproto.UnknownOperation("sts", op)
	}
	return map[string]string{
		"UserId":  "AIDALOCALCLOUD00000001",
		"Account": s.Account,
		"Arn":     "arn:aws:iam::" + s.Account + ":user/localcloud",
	}, nil
}

// queryToJSON turns form members into a JSON object.
func queryToJSON(form url.Values) (json.RawMessage, error) {
	root := map[string]any{}
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Action" && k != "Version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := setMember(root, strings.Split(k, "."), form.Get(k)); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", k, err)
		}
	}
	return json.Marshal(compact(root))
}

// setMember sets path to value in m; "member.N" levels are list items,
// kept as maps keyed by index until compact.
func setMember(m map[string]any, path []string, value string) error {
	key := path[0]
	if len(path) == 1 {
		switch queryNumbers[key] {
		case "number":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return err
			}
			m[key] = f
		case "bool":
			m[key] = value == "true"
		default:
			m[key] = value
		}
		return nil
	}
	if path[1] == "member" && len(path) >= 3 {
		list, _ := m[key].(queryList)
		if list == nil {
			list = queryList{}
			m[key] = list
		}
		idx, err := strconv.Atoi(path[2])
		if err != nil {
			return err
		}
		if len(path) == 3 {
			list[idx] = value
			return nil
		}
		item, _ := list[idx].(map[string]any)
		if item == nil {
			item = map[string]any{}
			list[idx] = item
		}
		return setMember(item, path[3:], value)
	}
	child, _ := m[key].(map[string]any)
	if child == nil {
		child = map[string]any{}
		m[key] = child
	}
	return setMember(child, path[1:], value)
}

type queryList map[int]any

func compact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = compact(x)
		}
		return v
	case queryList:
		idx := make([]int, 0, len(v))
		for i := range v {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, 0, len(v))
		for _, i := range idx {
			out = append(out, compact(v[i]))
		}
		return out
	}
	return v
}

// queryResponse encodes out (through its JSON form) as the XML answer.
func queryResponse(op, service string, out any) ([]byte, error) {
	p, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(p)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	ns := queryNamespace
	if service == "sts" {
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<%sResponse xmlns="%s"><%sResult>`, op, ns, op)
	if m, ok := v.(map[string]any); ok {
		writeXMLMembers(&b, m)
	}
	fmt.Fprintf(&b, `</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, op, requestID(), op)
	return []byte(b.String()), nil
}

func writeXMLMembers(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writeXMLValue(b, k, m[k])
	}
}

func writeXMLValue(b *strings.Builder, name string, v any) {
	switch v := v.(type) {
	case nil:
		return
	case map[string]any:
		fmt.Fprintf(b, "<%s>", name)
		writeXMLMembers(b, v)
		fmt.Fprintf(b, "</%s>", name)
	case []any:
		fmt.Fprintf(b, "<%s>", name)
		for _, x := range v {
			writeXMLValue(b, "member", x)
		}
		fmt.Fprintf(b, "</%s>", name)
	default:
		fmt.Fprintf(b, "<%s>", name)
		xml.EscapeText(b, []byte(fmt.Sprint(v)))
		fmt.Fprintf(b, "</%s>", name)
	}
}

func writeQueryError(w http.ResponseWriter, service string, e *awsproto.Error) {
	kind := "Sender"
	if e.HTTPStatus() >= 500 {
		kind = "Receiver"
	}
	var msg strings.Builder
	xml.EscapeText(&msg, []byte(e.Message))
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.HTTPStatus())
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		kind, e.Type, msg.String(), requestID())
}
