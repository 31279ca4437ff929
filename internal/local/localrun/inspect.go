package localrun

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pushdeploy/pushdeploy/internal/app/coord"
	"github.com/pushdeploy/pushdeploy/internal/app/history"
	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
)

// table is the installed history table's name.
func (w *World) table() (string, error) {
	if len(w.Installed.Tables) != 1 {
		return "", fmt.Errorf("template has %d tables, want 1", len(w.Installed.Tables))
	}
	for _, name := range w.Installed.Tables {
		return name, nil
	}
	return "", nil
}

// History returns a service's terminal records, newest first.
func (w *World) History(ctx context.Context, serviceARN string) ([]history.Record, error) {
	name, err := w.table()
	if err != nil {
		return nil, err
	}
	store, err := history.New(dynamodb.NewFromConfig(w.Config), name, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	var all []history.Record
	token := ""
	for {
		page, err := store.List(ctx, serviceARN, 100, token)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Records...)
		if page.Next == "" {
			return all, nil
		}
		token = page.Next
	}
}

// Lease returns a service's lease as stored.
func (w *World) Lease(ctx context.Context, serviceARN string) (coord.State, error) {
	name, err := w.table()
	if err != nil {
		return coord.State{}, err
	}
	store, err := coord.New(dynamodb.NewFromConfig(w.Config), name, w.Clock)
	if err != nil {
		return coord.State{}, err
	}
	return store.Get(ctx, serviceARN)
}

// Ledger reads a service's ledger: its good and bad revisions and its
// quarantined digests.
func (w *World) Ledger(ctx context.Context, serviceARN string) (ledger.Ledger, error) {
	name, err := w.table()
	if err != nil {
		return ledger.Ledger{}, err
	}
	store, err := history.New(dynamodb.NewFromConfig(w.Config), name, 0)
	if err != nil {
		return ledger.Ledger{}, err
	}
	return store.Ledger(ctx, serviceARN)
}

// Running returns the task definition ARN the service's primary deployment
// runs and its images by container name.
func (w *World) Running(ctx context.Context, cluster, service string) (string, map[string]string, error) {
	client := ecs.NewFromConfig(w.Config)
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return "", nil, err
	}
	if len(out.Services) != 1 {
		return "", nil, fmt.Errorf("service %s/%s not found", cluster, service)
	}
	td := aws.ToString(out.Services[0].TaskDefinition)
	desc, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return "", nil, err
	}
	images := map[string]string{}
	for _, c := range desc.TaskDefinition.ContainerDefinitions {
		images[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	return td, images, nil
}
