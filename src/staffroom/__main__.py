from staffroom.cli import main

main()
