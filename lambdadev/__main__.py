from lambdadev.cli import main

main()
