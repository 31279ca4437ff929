GO ?= go

.PHONY: test tools demo bench lint
## test: every test tier: unit, SDK (real clients against the local cloud),
## end to end (real definition, real handlers, virtual clock) and the outside
## checks (asl-validator, aws-local-stepfunctions, cfn-lint) where installed.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	@if command -v cfn-lint >/dev/null 2>&1 && [ -f template.yaml ]; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; else echo "cfn-lint not installed: template not linted"; fi

## tools: the pinned outside checkers (npm: asl-validator, aws-local-stepfunctions, node@22).
tools: tools-asl

## demo: a push that deploys, a crash that rolls back, an alarm that rolls back.
demo:
	$(GO) run ./cmd/pushdeploy demo

## bench: cost of a deploy against rollout length, and engine throughput.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/e2e/ ./internal/states/
