// Command dispatch is pushdeploy's dispatch function: internal/app/handler's "dispatch",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("dispatch") }
