package states

import (
	"errors"
	"fmt"
	"strings"
)

// Predefined error names of the States Language.
const (
	ErrALL                             = "States.ALL"
	ErrHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrTimeout                         = "States.Timeout"
	ErrTaskFailed                      = "States.TaskFailed"
	ErrPermissions                     = "States.Permissions"
	ErrResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrParameterPathFailure            = "States.ParameterPathFailure"
	ErrQueryEvaluationError            = "States.QueryEvaluationError"
	ErrBranchFailed                    = "States.BranchFailed"
	ErrNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrIntrinsicFailure                = "States.IntrinsicFailure"
	ErrExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrItemReaderFailed                = "States.ItemReaderFailed"
	ErrResultWriterFailed              = "States.ResultWriterFailed"
	ErrDataLimitExceeded               = "States.DataLimitExceeded"
	ErrRuntime                         = "States.Runtime"
)

// DefinitionError lists every problem found in a definition.
type DefinitionError struct{ Problems []string }

func (e *DefinitionError) Error() string {
	return "invalid state machine definition: " + strings.Join(e.Problems, "; ")
}

// failure is a state's error as it travels to Retry/Catch and up branches.
type failure struct {
	Name, Cause string
	aborted     bool // the execution or branch was cancelled: unwind quietly
}

func (f *failure) Error() string { return f.Name + ": " + f.Cause }

func failf(name, format string, args ...any) *failure {
	return &failure{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// asFailure turns a task runner's error into a state failure.
func asFailure(err error) *failure {
	var tf *TaskFailure
	if errors.As(err, &tf) {
		return &failure{Name: tf.ErrorName, Cause: tf.Cause}
	}
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return &failure{Name: ErrTaskFailed, Cause: err.Error()}
}
