package lambdamain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/app/handler"
)

// handlerTypes are the handler types of the functions, as the linker names
// their methods.
var handlerTypes = map[string]string{
	"dispatch": "DispatchHandler", "plan": "PlanHandler", "register": "RegisterHandler", "update": "UpdateHandler",
	"watch": "WatchHandler", "check": "CheckHandler", "events": "EventsHandler", "finish": "FinishHandler",
}

// Each bootstrap links its own handler and no other function's, and none
// links package xray (gRPC, protobuf, fasthttp): what the per-function
// wiring is for. A by-name registry reachable from a main would link them
// all.
func TestBootstrapsLinkOwnHandlerOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	if len(handlerTypes) != len(handler.Names) {
		t.Fatalf("handlerTypes lists %d functions, handler.Names %d", len(handlerTypes), len(handler.Names))
	}
	dir := t.TempDir()
	for _, name := range handler.Names {
		bin := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "../../../functions/"+name)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
		out, err := exec.Command("go", "tool", "nm", bin).Output()
		if err != nil {
			t.Fatalf("nm %s: %v", name, err)
		}
		syms := string(out)
		for other, typ := range handlerTypes {
			linked := strings.Contains(syms, "internal/app/handler.(*"+typ+").")
			if linked != (other == name) {
				t.Errorf("functions/%s links %s: %v", name, typ, linked)
			}
		}
		// Nor the config package's credential chain (shared files, SSO,
		// STS): awsconfig.FromLambda reads Lambda's environment.
		for _, pkg := range []string{"aws-xray-sdk-go/v2/xray.", "google.golang.org/grpc.", "valyala/fasthttp.", "aws-sdk-go-v2/config.", "aws-sdk-go-v2/service/sts.", "aws-sdk-go-v2/service/sso."} {
			if strings.Contains(syms, pkg) {
				t.Errorf("functions/%s links %s", name, pkg)
			}
		}
	}
}
