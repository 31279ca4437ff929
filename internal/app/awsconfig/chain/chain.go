// Package chain loads the aws.Config of the CLI and other long-lived
// processes: the standard credential and region chain (environment, shared
// config, SSO, container and instance roles), endpoints from the
// environment, and awsconfig's retryer. The functions build theirs with
// awsconfig.FromLambda instead, without this package's dependencies.
//
// Endpoints: the SDK itself reads AWS_ENDPOINT_URL (all services) and the
// service-specific AWS_ENDPOINT_URL_<SERVICE> variables (for example
// AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_DYNAMODB), and the endpoint_url
// settings of the shared config file; config.LoadDefaultConfig puts them in
// aws.Config.BaseEndpoint and ConfigSources, and each client's
// resolveBaseEndpoint applies them (the service-specific value wins). So the
// local cloud is reached by setting the environment, with no branch here.
package chain

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/pushdeploy/pushdeploy/internal/app/awsconfig"
)

// Options change what Load does.
type Options struct {
	Retry awsconfig.Retry
	// Load adds options for config.LoadDefaultConfig, e.g. WithRegion or
	// WithSharedConfigProfile from CLI flags.
	Load []func(*config.LoadOptions) error
}

// Load reads the standard chain (environment, shared config, container and
// instance roles) and installs the retryer.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	r := opts.Retry
	load := append([]func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return awsconfig.NewRetryer(r) }),
	}, opts.Load...)
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}
