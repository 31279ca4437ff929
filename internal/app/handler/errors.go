package handler

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/target"
	"github.com/pushdeploy/pushdeploy/internal/app/taskdef"
	"github.com/pushdeploy/pushdeploy/internal/app/trigger"
)

var (
	throttles  = retry.IsErrorThrottles(retry.DefaultThrottles)
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
)

// boundary turns err into the named contract error the state machine routes
// on (the outermost error's type name is what Step Functions sees): contract
// errors pass through, the domain's and AWS's errors are translated, the rest
// is Internal. op is short lowercase context ("update service web").
func boundary(op string, err error) error {
	if err == nil {
		return nil
	}
	if named := asContract(err); named != nil {
		return named
	}
	var (
		snf     *target.ServiceNotFoundError
		notIn   *target.NotOptedInError
		cfgErr  *target.ConfigError
		unknown *taskdef.UnknownContainerError
		noCont  *taskdef.NoContainerForRepositoryError
		denied  *taskdef.ImageNotAllowedError
		family  *taskdef.WrongFamilyError
		imgErr  *taskdef.ImageError
		revErr  *taskdef.RevisionError
		forged  *trigger.UntrustedError
		cancel  *history.CancelledError
		clash   *history.ConflictError
	)
	switch {
	case errors.As(err, &cancel) && cancel.Throttled:
		return &contract.Throttled{Op: op, Err: err}
	case errors.As(err, &cancel), errors.As(err, &clash):
		return &contract.Retryable{Op: op, Err: err}
	case errors.As(err, &snf):
		return &contract.ServiceNotFound{Cluster: snf.Cluster, Service: snf.Service, Err: err}
	case errors.As(err, &notIn):
		return &contract.BadInput{Field: "service", Reason: notIn.Error()}
	case errors.As(err, &cfgErr):
		return &contract.BadInput{Field: "service tags", Reason: cfgErr.Error()}
	case errors.As(err, &unknown):
		return &contract.ContainerNotFound{TaskDefinition: unknown.Family, Container: unknown.Container}
	case errors.As(err, &noCont):
		return &contract.ContainerNotFound{TaskDefinition: noCont.Family, Container: "(any using " + noCont.Repository + ")"}
	case errors.As(err, &denied):
		return &contract.RegistryNotAllowed{Image: denied.Image, Registry: denied.Registry}
	case errors.As(err, &family):
		return &contract.WrongFamily{Revision: family.Revision, Family: family.Family}
	case errors.As(err, &imgErr):
		return &contract.BadInput{Field: "image", Reason: imgErr.Error()}
	case errors.As(err, &revErr):
		return &contract.BadInput{Field: "revision", Reason: revErr.Error()}
	case errors.As(err, &forged):
		return &contract.BadInput{Field: "trigger", Reason: forged.Error()}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException":
			return &contract.ServiceNotFound{Err: err}
		case "RepositoryNotFoundException", "ImageNotFoundException":
			return &contract.ImageNotFound{Err: err}
		case "UpdateInProgressException", "TransactionConflictException":
			return &contract.Retryable{Op: op, Err: err}
		}
	}
	switch {
	case throttles.IsErrorThrottle(err) == aws.TrueTernary:
		return &contract.Throttled{Op: op, Err: err}
	case retryables.IsErrorRetryable(err) == aws.TrueTernary,
		errors.Is(err, context.DeadlineExceeded):
		return &contract.Retryable{Op: op, Err: err}
	}
	return &contract.Internal{Op: op, Err: err}
}

// asContract returns the outermost contract error in err's chain, or nil.
func asContract(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case *contract.BadInput, *contract.ServiceNotFound, *contract.ContainerNotFound,
			*contract.RegistryNotAllowed, *contract.WrongFamily, *contract.ImageNotFound, *contract.UnsupportedDeploymentController,
			*contract.Superseded, *contract.Throttled, *contract.Retryable, *contract.Internal:
			return e
		}
	}
	return nil
}
