// Package statemachine holds pushdeploy's deployment state machine
// (deploy.asl.json, Amazon States Language with SAM's ${Name}
// substitutions, filled from template.yaml's DefinitionSubstitutions).
package statemachine

import _ "embed"

// Deploy is the deployment state machine's definition, unsubstituted.
//
//go:embed deploy.asl.json
var Deploy []byte

// Substitutions are the ${Name} placeholders Deploy uses: the ARN of each
// function it invokes, by the function's template logical id + "Arn".
var Substitutions = []string{
	"PlanFunctionArn", "RegisterFunctionArn", "UpdateFunctionArn",
	"WatchFunctionArn", "CheckFunctionArn", "FinishFunctionArn",
}
