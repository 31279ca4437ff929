package samlocal

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  BakeMinutes:
    Type: Number
    Default: 5
  Stage:
    Type: String
    Default: prod
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Globals:
  Function:
    Runtime: provided.al2023
    Environment:
      Variables:
        LOG_LEVEL: info
Resources:
  History:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  PlanFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/plan
      Environment:
        Variables:
          TABLE: !Ref History
          BAKE: !Sub "${BakeMinutes}m"
          ARN: !GetAtt History.Arn
          WHERE: !Sub "${AWS::Region}/${AWS::AccountId}/${History.Arn}/${!Literal}"
          PICK: !Select [1, !Split [",", "a,b,c"]]
          JOINED: !Join ["-", [x, !Ref Stage]]
          MAYBE: !If [NotProd, yes, !Ref AWS::NoValue]
  Deploy:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine/deploy.asl.json
`

func TestResolveIntrinsics(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	in := &installer{t: tmpl, opts: Options{StackName: "pd", Region: "eu-west-1", Account: "123456789012"}}
	if err := in.prepare(); err != nil {
		t.Fatal(err)
	}
	props, err := in.properties("PlanFunction")
	if err != nil {
		t.Fatal(err)
	}
	got := asMap(asMap(props["Environment"])["Variables"])
	want := map[string]any{
		"LOG_LEVEL": "info",
		"TABLE":     "pd-History",
		"BAKE":      "5m",
		"ARN":       "arn:aws:dynamodb:eu-west-1:123456789012:table/pd-History",
		"WHERE":     "eu-west-1/123456789012/arn:aws:dynamodb:eu-west-1:123456789012:table/pd-History/${Literal}",
		"PICK":      "b",
		"JOINED":    "x-prod",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("resolved environment (-want +got):\n%s", diff)
	}
	if props["Runtime"] != "provided.al2023" {
		t.Fatalf("globals not merged: %v", props["Runtime"])
	}
	if got := in.res.Refs["Deploy"]; got != "arn:aws:states:eu-west-1:123456789012:stateMachine:pd-Deploy" {
		t.Fatalf("state machine Ref = %s", got)
	}
}

func TestResolveErrorsNameTheProblem(t *testing.T) {
	r := &Resolver{Params: map[string]string{}, Refs: map[string]string{}, Attrs: map[string]map[string]string{}}
	cases := map[string]any{
		"unknown":       map[string]any{"Ref": "Nope"},
		"not supported": map[string]any{"Fn::ImportValue": "x"},
		"not known":     map[string]any{"Fn::GetAtt": []any{"X", "Arn"}},
	}
	for want, v := range cases {
		_, err := r.Resolve(v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%v) error = %v, want it to say %q", v, err, want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	got, err := Substitute(`{"Resource":"${PlanArn}","x":"${Bake}"}`, map[string]string{"PlanArn": "arn:1", "Bake": "300"})
	if err != nil || got != `{"Resource":"arn:1","x":"300"}` {
		t.Fatalf("Substitute = %q, %v", got, err)
	}
	if _, err := Substitute(`"${Missing}"`, nil); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Fatalf("missing substitution error = %v", err)
	}
}

func TestParseRejectsTemplatesWithoutResources(t *testing.T) {
	if _, err := Parse([]byte("Parameters: {}\n")); err == nil {
		t.Fatal("want an error")
	}
}
