package taskdef

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// describeOnly are TaskDefinition fields that RegisterTaskDefinition does not
// accept: the API computes them.
var describeOnly = map[string]bool{
	"Compatibilities": true, "DeleteRequestedAt": true, "DeregisteredAt": true,
	"RegisteredAt": true, "RegisteredBy": true, "RequiresAttributes": true,
	"Revision": true, "Status": true, "TaskDefinitionArn": true,
}

// TestRegisterInputCoversEveryField fails when the SDK adds a field to
// RegisterTaskDefinitionInput or TaskDefinition that RegisterInput does not
// copy: every input field must be set from a fully populated TaskDefinition
// (or the tags), and every TaskDefinition field must be copied or known to be
// describe-only.
func TestRegisterInputCoversEveryField(t *testing.T) {
	var td ecstypes.TaskDefinition
	fill(reflect.ValueOf(&td).Elem())
	tags := []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	in := RegisterInput(&td, tags)

	inT := reflect.TypeOf(*in)
	tdV := reflect.ValueOf(td)
	inV := reflect.ValueOf(*in)
	for i := 0; i < inT.NumField(); i++ {
		f := inT.Field(i)
		if !f.IsExported() {
			continue
		}
		got := inV.Field(i)
		if got.IsZero() {
			t.Errorf("RegisterInput does not set RegisterTaskDefinitionInput.%s", f.Name)
			continue
		}
		if f.Name == "Tags" {
			if !reflect.DeepEqual(got.Interface(), tags) {
				t.Errorf("Tags = %v, want the given tags", got.Interface())
			}
			continue
		}
		src := tdV.FieldByName(f.Name)
		if !src.IsValid() {
			t.Errorf("RegisterTaskDefinitionInput.%s has no TaskDefinition field to copy from", f.Name)
			continue
		}
		if !reflect.DeepEqual(got.Interface(), src.Interface()) {
			t.Errorf("%s not copied: got %v, want %v", f.Name, got.Interface(), src.Interface())
		}
	}
	tdT := reflect.TypeOf(td)
	for i := 0; i < tdT.NumField(); i++ {
		f := tdT.Field(i)
		if !f.IsExported() || describeOnly[f.Name] {
			continue
		}
		if _, ok := inT.FieldByName(f.Name); !ok {
			t.Errorf("TaskDefinition.%s is neither copied nor listed as describe-only", f.Name)
		}
	}
}

func TestRegisterInputDoesNotAliasContainers(t *testing.T) {
	td := &ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("a")}}}
	in := RegisterInput(td, nil)
	in.ContainerDefinitions[0].Image = aws.String("b")
	if got := aws.ToString(td.ContainerDefinitions[0].Image); got != "a" {
		t.Fatalf("source image changed to %q", got)
	}
}

// fill sets every exported field of v, recursively, to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct && v.Type().Elem().PkgPath() == "time" {
			v.Set(reflect.New(v.Type().Elem()))
			v.Elem().Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type().PkgPath() == "time" {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Interface:
		// document.Interface values: leave nil (none in task definitions today).
	}
}
