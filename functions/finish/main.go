// Command finish is pushdeploy's finish function: internal/app/handler's "finish",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("finish") }
