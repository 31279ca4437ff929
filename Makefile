GO ?= go

# staticcheck, built from tools/lint's pinned go.mod into .tools/ once per
# staticcheck and Go version: offline once the module cache holds it.
STATICCHECK_VERSION := $(shell sed -n 's/^[[:space:]]*honnef.co\/go\/tools \(v[^ ]*\).*/\1/p' tools/lint/go.mod)
STATICCHECK := .tools/staticcheck-$(STATICCHECK_VERSION)-$(shell $(GO) env GOVERSION)

.PHONY: test check tidy lint tools demo bench bench-functions bench-fanout soak
## test: the hygiene gates (make check), the functions built once (make
## build), then every test tier: unit, SDK (real clients against the local
## cloud), end to end (real definition, real handlers, virtual clock; the
## built bootstraps under the local Lambda Runtime API) and the outside checks
## (asl-validator, aws-local-stepfunctions, cfn-lint) where installed.
## PUSHDEPLOY_REQUIRE_BUILD makes a missing build/ a failure, not a skip.
TEST_TIMEOUT ?= 15m
test: check build
	PUSHDEPLOY_REQUIRE_BUILD=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@if command -v cfn-lint >/dev/null 2>&1 && [ -f template.yaml ]; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; else echo "cfn-lint not installed: template not linted"; fi

## check: every gate that is not a test: go.mod tidy, then lint.
check: tidy lint

## tidy: go.mod and go.sum (the product's and tools/lint's) are what
## `go mod tidy` makes them; fails with the diff otherwise.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum not tidy: run go mod tidy"; exit 1; }
	@cd tools/lint && $(GO) mod tidy -diff || { echo "tools/lint/go.mod not tidy: run go mod tidy in tools/lint"; exit 1; }

## lint: no unformatted file (gofmt), go vet, and staticcheck (pinned in
## tools/lint/go.mod) with zero findings. A deliberate exception carries
## //lint:ignore CHECK reason on the line before it (//lint:file-ignore for
## a whole file).
GOFILES = find . -name '*.go' -not -path './.*' -not -path '*/node_modules/*' -not -path './build/*'
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$($(GOFILES))); if [ -n "$$unformatted" ]; then echo "gofmt: unformatted (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## tools: the pinned outside checkers (npm: asl-validator,
## aws-local-stepfunctions, node@22, @aws-sdk/client-ecs) and staticcheck.
tools: tools-asl tools-ecs $(STATICCHECK)

$(STATICCHECK): tools/lint/go.mod tools/lint/go.sum
	cd tools/lint && $(GO) build -o $(CURDIR)/$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

## demo: a push that deploys, a crash that rolls back, an alarm that rolls back.
demo: build
	$(GO) run ./cmd/pushdeploy demo

## bench: cost of a deploy against rollout length, and engine throughput.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/e2e/ ./internal/local/states/

## bench-fanout: one push followed by 1, 10, 100 and 500 services with the
## local cloud in realism mode (AWS's documented API throttling): wall time,
## calls per service, throttled calls, peak UpdateService rate, failures (0).
bench-fanout:
	PUSHDEPLOY_BENCH_FANOUT=1 $(GO) test -run '^$$' -bench BenchmarkFanOut -benchtime 1x -timeout 30m ./internal/e2e/

## build-<LogicalId>: SAM's makefile build method (sam build runs these with
## ARTIFACTS_DIR set); one per function in template.yaml.
FUNCTION_GOOS ?= linux
FUNCTION_GOARCH ?= arm64
# -s -w drops the symbol table and DWARF: a smaller zip, a faster cold start.
BUILD_FUNCTION = GOOS=$(FUNCTION_GOOS) GOARCH=$(FUNCTION_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" -o $(ARTIFACTS_DIR)/bootstrap
FUNCTIONS = DispatchFunction:dispatch PlanFunction:plan RegisterFunction:register UpdateFunction:update WatchFunction:watch CheckFunction:check EventsFunction:events FinishFunction:finish

.PHONY: build build-DispatchFunction build-PlanFunction build-RegisterFunction build-UpdateFunction build-WatchFunction build-CheckFunction build-EventsFunction build-FinishFunction
build-DispatchFunction:
	$(BUILD_FUNCTION) ./functions/dispatch
build-PlanFunction:
	$(BUILD_FUNCTION) ./functions/plan
build-RegisterFunction:
	$(BUILD_FUNCTION) ./functions/register
build-UpdateFunction:
	$(BUILD_FUNCTION) ./functions/update
build-WatchFunction:
	$(BUILD_FUNCTION) ./functions/watch
build-CheckFunction:
	$(BUILD_FUNCTION) ./functions/check
build-EventsFunction:
	$(BUILD_FUNCTION) ./functions/events
build-FinishFunction:
	$(BUILD_FUNCTION) ./functions/finish

## build-package: one more bootstrap built exactly as the functions are,
## `make build-package PKG=./path ARTIFACTS_DIR=dir` (bench-functions builds
## its reference functions with it).
.PHONY: build-package
build-package:
	$(BUILD_FUNCTION) $(PKG)

## bench-functions: each function's cold-start cost beside the smallest
## aws-lambda-go function, in one run: stripped linux/arm64 size, init CPU
## and peak RSS up to its first invocation/next (internal/local/fnbench).
## `make bench-functions BENCH_REPO=dir` measures another checkout's functions;
## BENCH_ENV="GOGC=400" adds environment to every run.
BENCH_REPO ?= .
BENCH_RUNS ?= 20
BENCH_ENV ?=
.PHONY: bench-functions
bench-functions:
	$(GO) run ./internal/local/fnbench -repo $(BENCH_REPO) -runs $(BENCH_RUNS) -env "$(BENCH_ENV)" -functions "$(FUNCTIONS)"

## build: every function into build/<LogicalId>/bootstrap for this machine
## (the local cloud runs them here); `make build GOARCH=arm64` for Lambda.
build: FUNCTION_GOOS = $(or $(GOOS),$(shell $(GO) env GOOS))
build: FUNCTION_GOARCH = $(or $(GOARCH),$(shell $(GO) env GOARCH))
build:
	@for f in $(FUNCTIONS); do id=$${f%%:*}; \
	  $(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(CURDIR)/build/$$id FUNCTION_GOOS=$(FUNCTION_GOOS) FUNCTION_GOARCH=$(FUNCTION_GOARCH) || exit 1; done

## tools-asl: the pinned Node tooling of tools/asl (asl-validator,
## aws-local-stepfunctions, node@22) from its package-lock.json.
.PHONY: tools-asl
tools-asl:
	cd tools/asl && npm ci --no-audit --no-fund

## tools-ecs: AWS's JavaScript ECS client (tools/ecs), an outside check of
## the local cloud's service deployment API.
.PHONY: tools-ecs
tools-ecs:
	cd tools/ecs && npm ci --no-audit --no-fund

## soak: one seeded, randomized, model-based soak of the whole product
## (internal/e2e/soak_test.go); `make soak SEED=7 EVENTS=300`. A failure
## prints the trace and the command that reproduces it. KEEPGOING=1 reports
## every failing phase instead of stopping at the first.
SEED ?= 1
EVENTS ?= 100
.PHONY: soak
soak:
	$(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./internal/e2e/ -soak.seed=$(SEED) -soak.events=$(EVENTS) $(if $(KEEPGOING),-soak.keepgoing)
