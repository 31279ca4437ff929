// Package tagging serves the Resource Groups Tagging API (GetResources) over
// the resources that the other local cloud services own.
package tagging

import "context"

// Resource is one taggable resource as GetResources reports it.
type Resource struct {
	ARN  string
	Type string // "service:resourceType" as ResourceTypeFilters name it: "ecs:service", "cloudwatch:alarm"
	Tags map[string]string
}

// Source is a service that owns taggable resources. TaggedResources returns
// every resource it holds in the account, tagged or not; the tagging service
// filters them. It must be safe for concurrent use.
type Source interface {
	TaggedResources(ctx context.Context) []Resource
}
