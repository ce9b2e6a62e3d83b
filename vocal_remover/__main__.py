from vocal_remover.cli import main

main()
