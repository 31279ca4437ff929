// Command dispatch is pushdeploy's dispatch function: internal/handler's "dispatch",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("dispatch") }
