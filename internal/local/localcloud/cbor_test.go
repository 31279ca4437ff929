package localcloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

// echo returns what it got, with a timestamp, and fails on "Fail".
type echo struct{ got json.RawMessage }

func (e *echo) Name() string         { return "echo" }
func (e *echo) TargetPrefix() string { return "EchoService" }
func (e *echo) ErrorNamespace() string {
	return "com.example.echo"
}
func (e *echo) QueryErrorCode(t string) string { return "Legacy" + t }

func (e *echo) Call(_ context.Context, op string, in json.RawMessage) (any, error) {
	e.got = in
	if op == "Fail" {
		return nil, awsproto.Errorf("NotThereException", "no such thing")
	}
	return struct {
		Input json.RawMessage `json:"input"`
		At    awsproto.Time   `json:"at"`
	}{in, awsproto.Time(time.Unix(1700000000, 0))}, nil
}

func post(t *testing.T, url, path string, body []byte, headers map[string]string) (*http.Response, cbor.Value) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	req.Header.Set("Content-Type", "application/cbor")
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) == 0 {
		return resp, nil
	}
	v, err := cbor.Decode(p)
	if err != nil {
		t.Fatalf("response is not CBOR: %v (%q)", err, p)
	}
	return resp, v
}

func TestServeCBOR(t *testing.T) {
	svc := &echo{}
	url, server := localtest.Start(t, clock.NewVirtual(time.Unix(0, 0)), nil, svc)

	in := cbor.Map{"When": &cbor.Tag{ID: 1, Value: cbor.Float64(1.5)}, "Blob": cbor.Slice("hi"), "N": cbor.NegInt(2)}
	resp, out := post(t, url, "/service/EchoService/operation/Echo", cbor.Encode(in), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/cbor" || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	var seen map[string]any
	if err := json.Unmarshal(svc.got, &seen); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"When": 1.5, "Blob": "aGk=", "N": -3.0}, seen); diff != "" {
		t.Errorf("service input (-want +got):\n%s", diff)
	}
	want := cbor.Map{
		"input": cbor.Map{"When": cbor.Float64(1.5), "Blob": cbor.String("aGk="), "N": cbor.NegInt(2)},
		"at":    &cbor.Tag{ID: 1, Value: cbor.Uint(1700000000)},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}

	// No body is an empty input.
	if resp, _ := post(t, url, "/service/EchoService/operation/Echo", nil, nil); resp.StatusCode != 200 || string(svc.got) != "{}" {
		t.Errorf("empty body: status %d, input %s", resp.StatusCode, svc.got)
	}

	errTests := []struct {
		name       string
		path       string
		body       []byte
		headers    map[string]string
		status     int
		errType    string
		queryError string
	}{
		{"service error", "/service/EchoService/operation/Fail", nil, map[string]string{"X-Amzn-Query-Mode": "true"}, 400,
			"com.example.echo#NotThereException", "LegacyNotThereException;Sender"},
		{"no query mode, no query header", "/service/EchoService/operation/Fail", nil, nil, 400, "com.example.echo#NotThereException", ""},
		{"unknown service", "/service/Nope/operation/X", nil, nil, 404, "UnknownOperationException", ""},
		{"no protocol header", "/service/EchoService/operation/Echo", nil, map[string]string{"Smithy-Protocol": ""}, 400,
			"com.example.echo#SerializationException", ""},
		{"bad body", "/service/EchoService/operation/Echo", []byte{0xa1, 0x61}, nil, 400, "com.example.echo#SerializationException", ""},
		{"extra path", "/service/EchoService/operation/Echo/more", nil, nil, 404, "com.example.echo#UnknownOperationException", ""},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			resp, v := post(t, url, tt.path, tt.body, tt.headers)
			m, _ := v.(cbor.Map)
			if resp.StatusCode != tt.status || m["__type"] != cbor.String(tt.errType) || m["message"] == nil {
				t.Errorf("status %d, body %v; want %d %s", resp.StatusCode, v, tt.status, tt.errType)
			}
			if got := resp.Header.Get("X-Amzn-Query-Error"); got != tt.queryError {
				t.Errorf("X-Amzn-Query-Error = %q, want %q", got, tt.queryError)
			}
		})
	}
	resp, err := http.Get(url + "/service/EchoService/operation/Echo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}
	var logged []string
	for _, c := range server.Log.Calls() {
		logged = append(logged, c.Operation+":"+c.Error)
	}
	if diff := cmp.Diff([]string{"Echo:", "Echo:", "Fail:NotThereException", "Fail:NotThereException", "Echo:SerializationException"}, logged); diff != "" {
		t.Errorf("call log (-want +got):\n%s", diff)
	}
}
