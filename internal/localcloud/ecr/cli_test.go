package ecr_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/pushdeploy/pushdeploy/internal/localcloud/ecr"
)

// TestAWSCLI runs the machine's AWS CLI (an independent client) against the
// local ECR.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	if testing.Short() {
		t.Skip("starts the AWS CLI (slow)")
	}
	e := newEnv(t)
	ts := httptest.NewServer(e.server)
	defer ts.Close()
	home := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"ecr", "--endpoint-url", ts.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
			"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home,
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws ecr %v: %v\n%s", args, err, out)
		}
		return out
	}
	run("create-repository", "--repository-name", "cli/web")
	manifest := ecr.Manifest("cli")
	var put struct {
		Image struct {
			ImageID struct{ ImageDigest string } `json:"imageId"`
		} `json:"image"`
	}
	if err := json.Unmarshal(run("put-image", "--repository-name", "cli/web", "--image-tag", "v1", "--image-manifest", string(manifest)), &put); err != nil {
		t.Fatal(err)
	}
	if put.Image.ImageID.ImageDigest != ecr.Digest(manifest) {
		t.Errorf("put-image digest = %s, want %s", put.Image.ImageID.ImageDigest, ecr.Digest(manifest))
	}
	var desc struct {
		ImageDetails []struct {
			ImageDigest string   `json:"imageDigest"`
			ImageTags   []string `json:"imageTags"`
		} `json:"imageDetails"`
	}
	if err := json.Unmarshal(run("describe-images", "--repository-name", "cli/web"), &desc); err != nil {
		t.Fatal(err)
	}
	if len(desc.ImageDetails) != 1 || desc.ImageDetails[0].ImageDigest != ecr.Digest(manifest) || len(desc.ImageDetails[0].ImageTags) != 1 {
		t.Errorf("describe-images = %+v", desc)
	}
	if n := len(e.events.all()); n != 1 {
		t.Errorf("%d push events, want 1", n)
	}
}
