fn main() -> std::process::ExitCode {
    carpd::cli::main()
}
