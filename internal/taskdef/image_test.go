package taskdef

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const (
	reg     = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	dgst    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dgstOld = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
)

func TestParseImage(t *testing.T) {
	tests := []struct {
		in      string
		want    Image
		account string
		wantErr bool
	}{
		{in: reg + "/web:v1", want: Image{Registry: reg, Repository: "web", Tag: "v1"}, account: "123456789012"},
		{in: reg + "/team/web@" + dgst, want: Image{Registry: reg, Repository: "team/web", Digest: dgst}, account: "123456789012"},
		{in: reg + "/web:v1@" + dgst, want: Image{Registry: reg, Repository: "web", Tag: "v1", Digest: dgst}, account: "123456789012"},
		{in: "nginx", want: Image{Repository: "nginx"}},
		{in: "library/nginx:1.27", want: Image{Repository: "library/nginx", Tag: "1.27"}},
		{in: "localhost:5000/app:dev", want: Image{Registry: "localhost:5000", Repository: "app", Tag: "dev"}},
		{in: "ghcr.io/org/app", want: Image{Registry: "ghcr.io", Repository: "org/app"}},
		{in: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web", want: Image{Registry: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Repository: "web"}, account: "123456789012"},
		{in: reg + "/web@sha256:abc", wantErr: true},
		{in: reg + "/Web:v1", wantErr: true},
		{in: reg + "/web:-bad", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseImage(tt.in)
			if tt.wantErr {
				var ie *ImageError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *ImageError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
			if got.Account() != tt.account {
				t.Errorf("Account() = %q, want %q", got.Account(), tt.account)
			}
		})
	}
}

func TestImageRegion(t *testing.T) {
	for in, want := range map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1":          "eu-west-1",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web:v1": "us-gov-west-1",
		"ghcr.io/x/web:v1": "",
		"nginx":            "",
	} {
		img, err := ParseImage(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Region(); got != want {
			t.Errorf("%s: Region() = %q, want %q", in, got, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	ecr := Image{Registry: reg, Repository: "web"}
	other := Image{Registry: "999999999999.dkr.ecr.us-east-1.amazonaws.com", Repository: "web"}
	hub := Image{Repository: "nginx"}
	tests := []struct {
		name string
		p    Policy
		img  Image
		want bool
	}{
		{"empty allows all", Policy{}, hub, true},
		{"account", Policy{Accounts: []string{"123456789012"}}, ecr, true},
		{"other account", Policy{Accounts: []string{"123456789012"}}, other, false},
		{"docker hub with accounts", Policy{Accounts: []string{"123456789012"}}, hub, false},
		{"registry", Policy{Registries: []string{"ghcr.io"}}, Image{Registry: "ghcr.io", Repository: "x"}, true},
		{"registry list excludes ecr", Policy{Registries: []string{"ghcr.io"}}, ecr, false},
		{"registry host of account", Policy{Registries: []string{reg}}, ecr, true},
		{"default: this account's ECR in this region", DefaultPolicy("123456789012", "us-east-1"), ecr, true},
		{"default: not the account's ECR in another region", DefaultPolicy("123456789012", "us-east-1"),
			Image{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Repository: "web"}, false},
		{"default: not another account", DefaultPolicy("123456789012", "us-east-1"), other, false},
		{"default: not docker hub", DefaultPolicy("123456789012", "us-east-1"), hub, false},
		{"accounts allow every region", Policy{Accounts: []string{"123456789012"}},
			Image{Registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Repository: "web"}, true},
	}
	for _, tt := range tests {
		if got := tt.p.Allows(tt.img); got != tt.want {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func input() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(reg + "/web:latest")},
			{Name: aws.String("worker"), Image: aws.String(reg + "/web@" + dgstOld)},
			{Name: aws.String("sidecar"), Image: aws.String("public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0")},
			{Name: aws.String("other"), Image: aws.String(reg + "/api:latest")},
		},
	}
}

func TestReplaceImages(t *testing.T) {
	img := Image{Registry: reg, Repository: "web", Tag: "v2", Digest: dgst}
	pinned := reg + "/web@" + dgst
	tests := []struct {
		name       string
		img        Image
		containers []string
		policy     Policy
		want       []ImageChange
		images     []string // all four containers' images after
		err        any
	}{
		{
			name: "default: every container of the repository",
			img:  img,
			want: []ImageChange{
				{Container: "app", From: reg + "/web:latest", To: pinned},
				{Container: "worker", From: reg + "/web@" + dgstOld, To: pinned},
			},
			images: []string{pinned, pinned, "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", reg + "/api:latest"},
		},
		{
			name:       "only the named one",
			img:        img,
			containers: []string{"worker"},
			want:       []ImageChange{{Container: "worker", From: reg + "/web@" + dgstOld, To: pinned}},
			images:     []string{reg + "/web:latest", pinned, "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", reg + "/api:latest"},
		},
		{
			name:       "named container of another repository",
			img:        img,
			containers: []string{"other", "other"},
			want:       []ImageChange{{Container: "other", From: reg + "/api:latest", To: pinned}},
			images:     []string{reg + "/web:latest", reg + "/web@" + dgstOld, "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", pinned},
		},
		{name: "unknown container", img: img, containers: []string{"app", "nope"}, err: new(*UnknownContainerError)},
		{name: "no container uses the repository", img: Image{Registry: reg, Repository: "db", Digest: dgst}, err: new(*NoContainerForRepositoryError)},
		{name: "registry not allowed", img: Image{Registry: "999999999999.dkr.ecr.us-east-1.amazonaws.com", Repository: "web", Digest: dgst}, policy: Policy{Accounts: []string{"123456789012"}}, err: new(*ImageNotAllowedError)},
		{name: "not pinned", img: Image{Registry: reg, Repository: "web", Tag: "v2"}, err: new(*ImageError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input()
			got, err := ReplaceImages(in, tt.img, tt.containers, tt.policy)
			if tt.err != nil {
				if !errors.As(err, tt.err) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.err)
				}
				if diff := cmp.Diff(input(), in, cmp.AllowUnexported(ecs.RegisterTaskDefinitionInput{}, ecstypes.ContainerDefinition{})); diff != "" {
					t.Errorf("input changed on error:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got)\n%s", diff)
			}
			var images []string
			for _, c := range in.ContainerDefinitions {
				images = append(images, aws.ToString(c.Image))
			}
			if diff := cmp.Diff(tt.images, images); diff != "" {
				t.Errorf("images (-want +got)\n%s", diff)
			}
		})
	}
}

func TestUnknownContainerErrorNamesKnown(t *testing.T) {
	_, err := ReplaceImages(input(), Image{Registry: reg, Repository: "web", Digest: dgst}, []string{"nope"}, Policy{})
	if err == nil || !strings.Contains(err.Error(), "app, worker, sidecar, other") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveRevision(t *testing.T) {
	cur := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
	tests := []struct {
		given string
		want  Revision
		err   any
	}{
		{given: "5", want: Revision{"web", 5}},
		{given: "web:3", want: Revision{"web", 3}},
		{given: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", want: Revision{"web", 2}},
		{given: "api:3", err: new(*WrongFamilyError)},
		{given: "arn:aws:ecs:us-east-1:123456789012:task-definition/api:3", err: new(*WrongFamilyError)},
		{given: "0", err: new(*RevisionError)},
		{given: "web", err: new(*RevisionError)},
		{given: "web:x", err: new(*RevisionError)},
		{given: "web:+3", err: new(*RevisionError)},
		{given: "we b:3", err: new(*RevisionError)},
		{given: "web:3:4", err: new(*RevisionError)},
		{given: "arn:aws:ecs:us-east-1:123456789012:service/c/web", err: new(*RevisionError)},
	}
	for _, tt := range tests {
		got, err := ResolveRevision(tt.given, cur)
		if tt.err != nil {
			if !errors.As(err, tt.err) {
				t.Errorf("%s: err = %v, want %T", tt.given, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.given, got, err, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	old := input()
	old.Cpu = aws.String("256")
	old.ContainerDefinitions[0].Environment = []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}}
	nw := RegisterInput(&ecstypes.TaskDefinition{
		Family: old.Family, Cpu: aws.String("512"),
		ContainerDefinitions: append([]ecstypes.ContainerDefinition(nil), old.ContainerDefinitions...),
	}, nil)
	nw.ContainerDefinitions[0].Environment = []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("2")}, {Name: aws.String("B"), Value: aws.String("3")}}
	if _, err := ReplaceImages(nw, Image{Registry: reg, Repository: "web", Digest: dgst}, []string{"app"}, Policy{}); err != nil {
		t.Fatal(err)
	}
	got, err := Diff(old, nw)
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldChange{
		{Path: "ContainerDefinitions[app].Environment[A].Value", Old: `"1"`, New: `"2"`},
		{Path: "ContainerDefinitions[app].Environment[B].Name", New: `"B"`},
		{Path: "ContainerDefinitions[app].Environment[B].Value", New: `"3"`},
		{Path: "ContainerDefinitions[app].Image", Old: `"` + reg + `/web:latest"`, New: `"` + reg + `/web@` + dgst + `"`},
		{Path: "Cpu", Old: `"256"`, New: `"512"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	same, err := Diff(old, old)
	if err != nil || len(same) != 0 {
		t.Errorf("Diff(old, old) = %v, %v", same, err)
	}
}
