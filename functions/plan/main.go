// Command plan is pushdeploy's plan function: internal/app/handler's "plan",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("plan") }
