// Package contract holds the input and output of every state of the deployment
// state machine (statemachine/deploy.asl.json) and of the event-driven
// functions, as Go structs with strict JSON tags, plus the named errors the
// state machine routes on.
//
// # State document
//
// The state machine keeps one JSON document per execution. The Init state
// builds it from the execution's identity, not its input: the input may be
// as big as a state's whole payload (256 KiB), so plan and finish read it
// with DescribeExecution and no state carries it. Every field of the
// document is bounded (the input's limits, limits.go, bound the plan), so no
// input can push a state over the limit. Each Lambda task reads its payload from
// it through Parameters and stores its result under one key, wrapped as the
// lambda:invoke integration returns it ({"Payload": ...}, see Result):
//
//	{
//	  "execution":       Execution,               // from the context object
//	  "plan":            Result[Plan],
//	  "register":        Result[RegisterResult],  // redeploy/rollback: the plan's target, nothing registered
//	  "update":          Result[UpdateResult],
//	  "outcome":         Result[Outcome],         // rollout wait or check
//	  "bake":            Result[Outcome],         // bake wait or final check
//	  "undo":            Result[UpdateResult],    // undoing a failed deploy: update back to the undo revision
//	  "undoOutcome":     Result[Outcome],         // the undo wait or check
//	  "error":           TaskError,               // set by Catch (first failure)
//	  "undoError":       TaskError,               // set by Catch on the undo path
//	  "finish":          Result[FinishResult]
//	}
//
// Each wait's TimeoutSecondsPath is the phase's whole window (the plan's
// timeoutSeconds or bakeSeconds), set once: a wake-up carries a decided
// outcome, and an event that decides nothing leaves the wait parked, so no
// event restarts the window. Finish gets the document beside its finish
// time (FinishRequest).
//
// FinishInput is that document; every key but execution may be
// missing, depending on where the execution left the happy path.
//
// # Manual input
//
// Operators start the state machine with an ExecutionInput:
//
//	{"action": "deploy",   "cluster": "prod", "service": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v42"}
//	{"action": "deploy",   "cluster": "prod", "service": "web", "digest": "sha256:<64 hex>"}
//	{"action": "rollback", "cluster": "prod", "service": "web"}                        // to the newest good revision but the current
//	{"action": "rollback", "cluster": "prod", "service": "web", "revision": "web:41"}  // to a given revision of the family
//	{"action": "redeploy", "cluster": "prod", "service": "web"}                        // the current revision, new tasks
//	{"action": "release",  "cluster": "prod", "service": "web", "digest": "sha256:<64 hex>"} // lift a quarantine
//
// Optional fields: "containers" (deploy: which containers get the image,
// default the service's pushdeploy:containers tag), "force" (deploy a
// quarantined digest, roll back to a revision rolled back from), "reason",
// "requestedBy".
// Unknown fields, duplicate keys, a field over its size limit (limits.go), a
// missing field, an unknown action, an image from a registry
// that is not allowed or a revision of another family end in BadInput (or
// RegistryNotAllowed / WrongFamily) before anything on the service changes.
//
// # Errors
//
// The state machine's Retry and Catch match the Go type name of the error a
// handler returns (aws-lambda-go reports it as errorType). The names, all
// defined in errors.go, are listed by ErrorNames:
//
//	BadInput            malformed event or execution input              -> FAILED, nothing changed
//	ServiceNotFound     cluster or service does not exist (or inactive) -> FAILED, nothing changed
//	ContainerNotFound   a named container is not in the task definition -> FAILED, nothing changed
//	RegistryNotAllowed  image registry or account is not allowed        -> FAILED, nothing changed
//	WrongFamily         rollback revision of another task family       -> FAILED, nothing changed
//	ImageNotFound       tag or digest not found in the repository       -> FAILED, nothing changed
//	UnsupportedDeploymentController  CODE_DEPLOY or EXTERNAL controller -> FAILED, nothing changed
//	Superseded          the service's lease was taken over              -> SUPERSEDED, service untouched
//	Throttled           AWS throttled us                                -> retried with backoff
//	Retryable           transient failure (5xx, timeout, conflict)      -> retried with backoff
//	Internal            anything else                                   -> caught, FAILED (after rollback if deployed)
package contract
