// Command plan is pushdeploy's plan function: internal/handler's "plan",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("plan") }
