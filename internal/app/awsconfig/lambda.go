package awsconfig

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Environment variables FromLambda reads. Lambda sets the region and the
// execution role's credentials; the endpoints are set by the local world
// (and by whoever points a function elsewhere), as the SDK reads them.
const (
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	EnvAccountID       = "AWS_ACCOUNT_ID"
	// EnvEndpointURL is every service's endpoint; EnvEndpointURL + "_" +
	// the service's SDK ID upper-cased, spaces as underscores
	// (AWS_ENDPOINT_URL_DYNAMODB), one service's, which wins.
	EnvEndpointURL = "AWS_ENDPOINT_URL"
	// EnvIgnoreEndpoints "true" ignores both.
	EnvIgnoreEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// MissingEnvError is a Lambda environment without a variable FromLambda
// needs.
type MissingEnvError struct{ Name string }

func (e *MissingEnvError) Error() string {
	return fmt.Sprintf("aws config: %s is not set (Lambda sets it for every function)", e.Name)
}

// FromLambda builds the aws.Config of a function from the environment
// Lambda gives it: the region, the execution role's credentials, the
// endpoints of AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (as
// config.LoadDefaultConfig's environment source gives them), one shared
// HTTP client and the retryer of r. It reads nothing else: no shared files,
// no SSO or STS (Lambda always gives the role's keys in the environment),
// which is what keeps the config package out of the functions.
func FromLambda(env func(string) string, r Retry) (aws.Config, error) {
	region := env(EnvRegion)
	if region == "" {
		region = env(EnvDefaultRegion)
	}
	if region == "" {
		return aws.Config{}, &MissingEnvError{Name: EnvRegion}
	}
	creds := aws.Credentials{
		AccessKeyID: env(EnvAccessKeyID), SecretAccessKey: env(EnvSecretAccessKey),
		SessionToken: env(EnvSessionToken), AccountID: env(EnvAccountID), Source: "LambdaEnvironment",
	}
	for name, v := range map[string]string{EnvAccessKeyID: creds.AccessKeyID, EnvSecretAccessKey: creds.SecretAccessKey} {
		if v == "" {
			return aws.Config{}, &MissingEnvError{Name: name}
		}
	}
	endpoints := lambdaEndpoints{env: env, ignore: strings.EqualFold(env(EnvIgnoreEndpoints), "true")}
	cfg := aws.Config{
		Region:        region,
		Credentials:   staticCredentials(creds),
		HTTPClient:    awshttp.NewBuildableClient(),
		Retryer:       func() aws.Retryer { return NewRetryer(r) },
		ConfigSources: []any{endpoints},
	}
	if v := env(EnvEndpointURL); v != "" && !endpoints.ignore {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// staticCredentials are the role's keys, which Lambda keeps valid for the
// execution environment's life.
type staticCredentials aws.Credentials

func (c staticCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(c), nil
}

// lambdaEndpoints is the config source the clients ask for a service's
// endpoint (the SDK's internal configsources interfaces
// ServiceBaseEndpointProvider and IgnoreConfiguredEndpointsProvider).
type lambdaEndpoints struct {
	env    func(string) string
	ignore bool
}

func (e lambdaEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.ignore {
		return "", false, nil
	}
	v := e.env(EnvEndpointURL + "_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

func (e lambdaEndpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return e.ignore, true, nil
}
