package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type family struct {
	name      string
	revisions []*revision // revision n at index n-1
}

// revision is one registered task definition. body is the object
// DescribeTaskDefinition returns: the request as sent, every field kept
// byte for byte, plus what ECS adds.
type revision struct {
	family string
	number int
	arn    string
	status string // ACTIVE, INACTIVE, DELETE_IN_PROGRESS
	body   map[string]json.RawMessage
	tags   tagSet
	images []string
}

func (t *revision) setStatus(status string) {
	t.status = status
	t.body["status"] = mustJSON(status)
}

// snapshot copies body for an answer, which is encoded after the lock is
// released: later changes (deregistration) must not race with it.
func (t *revision) snapshot() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(t.body))
	for k, v := range t.body {
		out[k] = v
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ecs: marshal %T: %v", v, err))
	}
	return b
}

type containerDef struct {
	Name              string `json:"name"`
	Image             string `json:"image"`
	Memory            *int   `json:"memory"`
	MemoryReservation *int   `json:"memoryReservation"`
	Essential         *bool  `json:"essential"`
	LogConfiguration  *struct {
		LogDriver string `json:"logDriver"`
	} `json:"logConfiguration"`
	Secrets     []json.RawMessage `json:"secrets"`
	HealthCheck json.RawMessage   `json:"healthCheck"`
}

// containerDefaults are the members ECS fills into every container
// definition it stores when the request leaves them out.
var containerDefaults = map[string]json.RawMessage{
	"cpu":            json.RawMessage(`0`),
	"essential":      json.RawMessage(`true`),
	"portMappings":   json.RawMessage(`[]`),
	"environment":    json.RawMessage(`[]`),
	"mountPoints":    json.RawMessage(`[]`),
	"volumesFrom":    json.RawMessage(`[]`),
	"systemControls": json.RawMessage(`[]`),
}

var networkModes = map[string]bool{"": true, "bridge": true, "host": true, "awsvpc": true, "none": true}

func (s *Service) registerTaskDefinition(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var body map[string]json.RawMessage
	if err := decode(raw, &body); err != nil {
		return nil, err
	}
	var in struct {
		Family                  string         `json:"family"`
		ContainerDefinitions    []containerDef `json:"containerDefinitions"`
		RequiresCompatibilities []string       `json:"requiresCompatibilities"`
		NetworkMode             string         `json:"networkMode"`
		Cpu                     string         `json:"cpu"`
		Memory                  string         `json:"memory"`
		TaskRoleArn             string         `json:"taskRoleArn"`
		ExecutionRoleArn        string         `json:"executionRoleArn"`
		Tags                    []tag          `json:"tags"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "family", in.Family)
	if err := validateTaskDefinition(in.Family, in.ContainerDefinitions, in.RequiresCompatibilities, in.NetworkMode, in.Cpu, in.Memory); err != nil {
		return nil, err
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "RegisterTaskDefinition", s.arn(r, "task-definition/"+in.Family)); err != nil {
		return nil, err
	}

	f, ok := r.families[in.Family]
	if !ok {
		f = &family{name: in.Family}
		r.families[in.Family] = f
	}
	n := len(f.revisions) + 1
	td := &revision{family: in.Family, number: n, arn: s.arn(r, fmt.Sprintf("task-definition/%s:%d", in.Family, n)),
		body: body, tags: tagSet{}}
	td.tags.set(tags)
	delete(body, "tags")

	var containers []map[string]json.RawMessage
	if err := json.Unmarshal(body["containerDefinitions"], &containers); err != nil {
		return nil, awsproto.Errorf("SerializationException", "containerDefinitions: %v", err)
	}
	for i, c := range containers {
		for k, v := range containerDefaults {
			if _, ok := c[k]; !ok {
				c[k] = v
			}
		}
		td.images = append(td.images, in.ContainerDefinitions[i].Image)
	}
	body["containerDefinitions"] = mustJSON(containers)
	for _, k := range []string{"volumes", "placementConstraints"} {
		if _, ok := body[k]; !ok {
			body[k] = json.RawMessage(`[]`)
		}
	}
	body["taskDefinitionArn"] = mustJSON(td.arn)
	body["revision"] = mustJSON(n)
	body["registeredAt"] = mustJSON(epoch(s.clk.Now()))
	body["registeredBy"] = mustJSON(fmt.Sprintf("arn:aws:iam::%s:root", s.account))
	body["compatibilities"] = mustJSON(compatibilities(in.RequiresCompatibilities, in.NetworkMode, in.Cpu, in.Memory))
	body["requiresAttributes"] = mustJSON(requiresAttributes(in.ContainerDefinitions, in.NetworkMode, in.TaskRoleArn, in.ExecutionRoleArn))
	td.setStatus("ACTIVE")
	f.revisions = append(f.revisions, td)
	return map[string]any{"taskDefinition": td.snapshot(), "tags": td.tags.list()}, nil
}

func validateTaskDefinition(fam string, containers []containerDef, compat []string, networkMode, cpu, memory string) error {
	if fam == "" {
		return awsproto.Errorf("ClientException", "Family must not be null or empty.")
	}
	if !validName(fam) {
		return awsproto.Errorf("ClientException", "Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")
	}
	if len(containers) == 0 {
		return awsproto.Errorf("ClientException", "Container list cannot be empty.")
	}
	if !networkModes[networkMode] {
		return awsproto.Errorf("ClientException", "Network mode %q is not supported: use bridge, host, awsvpc or none.", networkMode)
	}
	seen := map[string]bool{}
	essential := false
	for _, c := range containers {
		if c.Name == "" {
			return awsproto.Errorf("ClientException", "Container.name should not be null or empty.")
		}
		if c.Image == "" {
			return awsproto.Errorf("ClientException", "Container.image should not be null or empty.")
		}
		if seen[c.Name] {
			return awsproto.Errorf("ClientException", "Duplicate container names are not allowed: %s.", c.Name)
		}
		seen[c.Name] = true
		if c.Essential == nil || *c.Essential {
			essential = true
		}
		if memory == "" && c.Memory == nil && c.MemoryReservation == nil {
			return awsproto.Errorf("ClientException", "Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
		}
	}
	if !essential {
		return awsproto.Errorf("ClientException", "Invalid task definition: at least one container must be essential.")
	}
	for _, c := range compat {
		switch c {
		case "EC2", "EXTERNAL", "MANAGED_INSTANCES":
		case "FARGATE":
			if networkMode != "awsvpc" {
				return awsproto.Errorf("ClientException", "Fargate only supports network mode 'awsvpc'.")
			}
			if cpu == "" {
				return awsproto.Errorf("ClientException", "Fargate requires that 'cpu' be defined at the task level.")
			}
			if memory == "" {
				return awsproto.Errorf("ClientException", "Fargate requires that 'memory' be defined at the task level.")
			}
		default:
			return awsproto.Errorf("ClientException", "Invalid compatibility %q.", c)
		}
	}
	return nil
}

// compatibilities is what ECS computes: every task definition runs on EC2;
// FARGATE is added when the task definition qualifies for it.
func compatibilities(requires []string, networkMode, cpu, memory string) []string {
	out := []string{"EC2"}
	if networkMode == "awsvpc" && cpu != "" && memory != "" {
		out = append(out, "FARGATE")
	}
	for _, c := range requires {
		if c == "EXTERNAL" || c == "MANAGED_INSTANCES" {
			out = append(out, c)
		}
	}
	return out
}

func requiresAttributes(containers []containerDef, networkMode, taskRole, execRole string) []map[string]string {
	set := map[string]bool{}
	for _, c := range containers {
		if strings.Contains(c.Image, ".dkr.ecr.") {
			set["com.amazonaws.ecs.capability.ecr-auth"] = true
			if execRole != "" {
				set["ecs.capability.execution-role-ecr-pull"] = true
			}
		}
		if c.LogConfiguration != nil && c.LogConfiguration.LogDriver == "awslogs" {
			set["com.amazonaws.ecs.capability.logging-driver.awslogs"] = true
			set["com.amazonaws.ecs.capability.docker-remote-api.1.19"] = true
			if execRole != "" {
				set["ecs.capability.execution-role-awslogs"] = true
			}
		}
		if len(c.Secrets) > 0 {
			set["ecs.capability.secrets.asm.environment-variables"] = true
		}
		if len(c.HealthCheck) > 0 {
			set["ecs.capability.container-health-check"] = true
		}
	}
	if taskRole != "" {
		set["com.amazonaws.ecs.capability.task-iam-role"] = true
	}
	if networkMode == "awsvpc" {
		set["ecs.capability.task-eni"] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{"name": n}
	}
	return out
}

// findRevision resolves "family" (its latest ACTIVE revision),
// "family:revision" or a task definition ARN.
func (s *Service) findRevision(r *regionState, ref string) (*revision, error) {
	notFound := awsproto.Errorf("ClientException", "Unable to describe task definition.")
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		prefix := s.arn(r, "task-definition/")
		if !strings.HasPrefix(ref, prefix) {
			return nil, notFound
		}
		name = strings.TrimPrefix(ref, prefix)
		if !strings.Contains(name, ":") {
			return nil, awsproto.Errorf("ClientException", "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.")
		}
	}
	fam, rev, hasRev := strings.Cut(name, ":")
	f, ok := r.families[fam]
	if !ok {
		return nil, notFound
	}
	if !hasRev {
		for i := len(f.revisions) - 1; i >= 0; i-- {
			if f.revisions[i].status == "ACTIVE" {
				return f.revisions[i], nil
			}
		}
		return nil, notFound
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 {
		return nil, awsproto.Errorf("ClientException", "Invalid revision number. Number: %s", rev)
	}
	if n > len(f.revisions) {
		return nil, notFound
	}
	return f.revisions[n-1], nil
}

func (s *Service) describeTaskDefinition(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "taskDefinition", in.TaskDefinition)
	if in.TaskDefinition == "" {
		return nil, awsproto.Errorf("ClientException", "TaskDefinition must not be null or empty.")
	}
	td, err := s.findRevision(r, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "DescribeTaskDefinition", td.arn); err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": td.snapshot()}
	if includes(in.Include, "TAGS") {
		out["tags"] = td.tags.list()
	}
	return out, nil
}

func (s *Service) deregisterTaskDefinition(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "taskDefinition", in.TaskDefinition)
	if !strings.Contains(strings.TrimPrefix(in.TaskDefinition, "arn:aws:ecs:"), ":") || strings.HasSuffix(in.TaskDefinition, ":") {
		return nil, awsproto.Errorf("ClientException", "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.")
	}
	td, err := s.findRevision(r, in.TaskDefinition)
	if err != nil {
		return nil, awsproto.Errorf("ClientException", "The specified task definition does not exist. Specify a valid account, family, revision and try again.")
	}
	if err := s.deny(ctx, "DeregisterTaskDefinition", td.arn); err != nil {
		return nil, err
	}
	if td.status == "ACTIVE" {
		td.setStatus("INACTIVE")
		td.body["deregisteredAt"] = mustJSON(epoch(s.clk.Now()))
	}
	return map[string]any{"taskDefinition": td.snapshot()}, nil
}

func (s *Service) deleteTaskDefinitions(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		TaskDefinitions []string `json:"taskDefinitions"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.TaskDefinitions) == 0 || len(in.TaskDefinitions) > 10 {
		return nil, awsproto.Errorf("InvalidParameterException", "taskDefinitions must have between 1 and 10 elements.")
	}
	out := []map[string]json.RawMessage{}
	failures := []failure{}
	for _, ref := range in.TaskDefinitions {
		td, err := s.findRevision(r, ref)
		if err != nil || !strings.Contains(strings.TrimPrefix(ref, "arn:aws:ecs:"), ":") {
			failures = append(failures, failure{Arn: ref, Reason: "TASK_DEFINITION_NOT_FOUND", Detail: "The specified task definition does not exist."})
			continue
		}
		if err := s.deny(ctx, "DeleteTaskDefinitions", td.arn); err != nil {
			return nil, err
		}
		if td.status == "ACTIVE" {
			failures = append(failures, failure{Arn: td.arn, Reason: "TASK_DEFINITION_ACTIVE",
				Detail: "The specified task definition is still in ACTIVE status. Please deregister the target and try again."})
			continue
		}
		td.setStatus("DELETE_IN_PROGRESS")
		out = append(out, td.snapshot())
	}
	return map[string]any{"taskDefinitions": out, "failures": failures}, nil
}

func (s *Service) listTaskDefinitions(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
		NextToken    string `json:"nextToken"`
		MaxResults   int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = "ACTIVE"
	}
	if in.Status != "ACTIVE" && in.Status != "INACTIVE" && in.Status != "DELETE_IN_PROGRESS" {
		return nil, awsproto.Errorf("InvalidParameterException", "status must be one of ACTIVE, INACTIVE, DELETE_IN_PROGRESS.")
	}
	if in.Sort != "" && in.Sort != "ASC" && in.Sort != "DESC" {
		return nil, awsproto.Errorf("InvalidParameterException", "sort must be ASC or DESC.")
	}
	names := make([]string, 0, len(r.families))
	for n := range r.families {
		// familyPrefix names one whole family here, unlike in
		// ListTaskDefinitionFamilies.
		if in.FamilyPrefix == "" || n == in.FamilyPrefix {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	arns := []string{}
	for _, n := range names {
		for _, td := range r.families[n].revisions {
			if td.status == in.Status {
				arns = append(arns, td.arn)
			}
		}
	}
	if in.Sort == "DESC" {
		for i, j := 0, len(arns)-1; i < j; i, j = i+1, j-1 {
			arns[i], arns[j] = arns[j], arns[i]
		}
	}
	items, next, err := page(arns, in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	return listOut{"taskDefinitionArns", items, next}, nil
}

func (s *Service) listTaskDefinitionFamilies(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		NextToken    string `json:"nextToken"`
		MaxResults   int    `json:"maxResults"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = "ACTIVE"
	}
	if in.Status != "ACTIVE" && in.Status != "INACTIVE" && in.Status != "ALL" {
		return nil, awsproto.Errorf("InvalidParameterException", "status must be one of ACTIVE, INACTIVE, ALL.")
	}
	names := []string{}
	for n, f := range r.families {
		if !strings.HasPrefix(n, in.FamilyPrefix) {
			continue
		}
		active := false
		for _, td := range f.revisions {
			active = active || td.status == "ACTIVE"
		}
		if in.Status == "ALL" || (in.Status == "ACTIVE") == active {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	items, next, err := page(names, in.NextToken, in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	return listOut{"families", items, next}, nil
}
