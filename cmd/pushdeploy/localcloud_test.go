package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
)

var urlLine = regexp.MustCompile(`serving on (http://\S+)`)

// startLocalCloud runs the subcommand and returns its URL and a func that
// interrupts it and returns its exit code.
func startLocalCloud(tb testing.TB, args ...string) (string, func() int) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- runLocalCloud(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		cancel()
		tb.Fatalf("no URL printed (exit %d)", <-code)
	}
	go io.Copy(io.Discard, pr) // the call log keeps flowing
	return url, func() int {
		cancel()
		return <-code
	}
}

func sfnClient(url string) *awssfn.Client {
	return awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func TestLocalCloudCommand(t *testing.T) {
	url, stop := startLocalCloud(t, "--listen", "127.0.0.1:0", "--speed", "60")
	out, err := sfnClient(url).ListStateMachines(context.Background(), &awssfn.ListStateMachinesInput{})
	if err != nil || len(out.StateMachines) != 0 {
		t.Errorf("ListStateMachines: %v %v", out, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d after interrupt", code)
	}

	for _, args := range [][]string{{"--speed", "0"}, {"--bogus"}, {"extra"}} {
		var stderr strings.Builder
		if code := runLocalCloud(context.Background(), args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

// BenchmarkLocalCloudStart measures the time from the command's start to
// its first answered API call (ns/op).
func BenchmarkLocalCloudStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		url, stop := startLocalCloud(b, "--listen", "127.0.0.1:0")
		if _, err := sfnClient(url).ListStateMachines(context.Background(), &awssfn.ListStateMachinesInput{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop()
		b.StartTimer()
	}
}
