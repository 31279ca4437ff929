package ecs

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type tagSet map[string]string

func (t tagSet) set(tags []tag) {
	for _, x := range tags {
		t[x.Key] = x.Value
	}
}

func (t tagSet) list() []tag {
	out := make([]tag, 0, len(t))
	for k, v := range t {
		out = append(out, tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (t tagSet) clone() map[string]string {
	m := make(map[string]string, len(t))
	for k, v := range t {
		m[k] = v
	}
	return m
}

// validTags applies ECS's tag rules.
func validTags(tags []tag) ([]tag, error) {
	if len(tags) > 50 {
		return nil, awsproto.Errorf("InvalidParameterException", "Too many tags: a resource can have at most 50 tags.")
	}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, awsproto.Errorf("InvalidParameterException", "Tag keys must be 1 to 128 characters and values at most 256 characters: %q.", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, awsproto.Errorf("InvalidParameterException", "Tag keys may not begin with the reserved prefix aws:: %q.", t.Key)
		}
	}
	return tags, nil
}

// taggable finds the tags of a cluster, service or task definition by ARN.
func (s *Service) taggable(r *regionState, arn string) (tagSet, error) {
	prefix := s.arn(r, "")
	if !strings.HasPrefix(arn, prefix) {
		return nil, awsproto.Errorf("InvalidParameterException", "The ARN provided is invalid: %s", arn)
	}
	rest := strings.TrimPrefix(arn, prefix)
	kind, id, _ := strings.Cut(rest, "/")
	switch kind {
	case "cluster":
		c, ok := r.clusters[id]
		if !ok || c.status != "ACTIVE" {
			return nil, awsproto.Errorf("ClusterNotFoundException", "Cluster not found.")
		}
		return c.tags, nil
	case "service":
		cl, name, ok := strings.Cut(id, "/")
		if !ok {
			return nil, awsproto.Errorf("InvalidParameterException", "The ARN provided is invalid: %s", arn)
		}
		c, ok := r.clusters[cl]
		if !ok {
			return nil, awsproto.Errorf("ClusterNotFoundException", "Cluster not found.")
		}
		svc, ok := c.services[name]
		if !ok || svc.status == "INACTIVE" {
			return nil, awsproto.Errorf("ServiceNotFoundException", "Service not found.")
		}
		return svc.tags, nil
	case "task-definition":
		td, err := s.findRevision(r, arn)
		if err != nil {
			return nil, awsproto.Errorf("ResourceNotFoundException", "The specified task definition does not exist.")
		}
		return td.tags, nil
	}
	return nil, awsproto.Errorf("InvalidParameterException", "The ARN provided is invalid: %s", arn)
}

func (s *Service) tagResource(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "resource", in.ResourceArn)
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	set, err := s.taggable(r, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "TagResource", in.ResourceArn); err != nil {
		return nil, err
	}
	if len(set)+len(newKeys(set, tags)) > 50 {
		return nil, awsproto.Errorf("InvalidParameterException", "Too many tags: a resource can have at most 50 tags.")
	}
	set.set(tags)
	return struct{}{}, nil
}

func newKeys(set tagSet, tags []tag) map[string]bool {
	keys := map[string]bool{}
	for _, t := range tags {
		if _, ok := set[t.Key]; !ok {
			keys[t.Key] = true
		}
	}
	return keys
}

func (s *Service) untagResource(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "resource", in.ResourceArn)
	set, err := s.taggable(r, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := s.deny(ctx, "UntagResource", in.ResourceArn); err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(set, k)
	}
	return struct{}{}, nil
}

func (s *Service) listTagsForResource(ctx context.Context, r *regionState, raw json.RawMessage) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	awsproto.Note(ctx, "resource", in.ResourceArn)
	set, err := s.taggable(r, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": set.list()}, nil
}
