//! `cargo run -p woo-schemas`: rewrites the generated contract documents under `schemas/`.

fn main() -> std::process::ExitCode {
    let root = woo_schemas::repository_root();
    match woo_schemas::write(&root) {
        Ok(changed) if changed.is_empty() => {
            println!("schemas/ is up to date");
            std::process::ExitCode::SUCCESS
        }
        Ok(changed) => {
            for line in changed {
                println!("{line}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("could not write schemas/: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
