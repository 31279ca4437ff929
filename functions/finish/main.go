// Command finish is pushdeploy's finish function: internal/handler's "finish",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("finish") }
