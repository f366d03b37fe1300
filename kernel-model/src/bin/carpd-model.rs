//! carpd's command line with the kernel model as its kernel: `CARPD_KERNEL_MODEL=FILE
//! carpd-model <carpd arguments>` runs every carpd command — `apply`, `status`, `run --engine
//! native`, … — against the model in FILE instead of a FreeBSD kernel. For tests only.
//!
//! `CARPD_KERNEL_MODEL=FILE carpd-model --model-init 13|13-netlink|14|15` first writes the
//! typical OPNsense box ([`carp_kernel_model::boxes::opnsense`]) of that release to FILE;
//! `--model-dump` prints the model's state. `--model-core interface carp_set_status VERB`
//! does what OPNsense core's configd action of that name does to the model and to the
//! config.xml in CARPD_CONFIG ([`carp_kernel_model::core`]); a test stands it in for
//! `/usr/local/sbin/configctl`.

use carp_kernel_model::{Kernel, Release, Store, boxes};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn release(word: &str) -> Option<Release> {
    Some(match word {
        "13" => Release::FreeBsd13 { netlink: false },
        "13-netlink" => Release::FreeBsd13 { netlink: true },
        "14" => Release::FreeBsd14,
        "15" => Release::FreeBsd15,
        _ => return None,
    })
}

fn main() -> ExitCode {
    let Some(path) = std::env::var_os("CARPD_KERNEL_MODEL") else {
        eprintln!("carpd-model: set CARPD_KERNEL_MODEL to the kernel model's state file");
        return ExitCode::from(2);
    };
    let path = Path::new(&path);
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--model-init") => {
            let Some(r) = args.get(2).and_then(|w| release(w)) else {
                eprintln!("carpd-model: --model-init 13|13-netlink|14|15");
                return ExitCode::from(2);
            };
            let k: Kernel = boxes::opnsense(r);
            return match Store::create(path, &k) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("carpd-model: {e}");
                    ExitCode::from(1)
                }
            };
        }
        Some("--model-dump") => {
            return match Store::open(path).and_then(|s| s.read()) {
                Ok(k) => {
                    println!("{}", serde_json::to_string_pretty(&k).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("carpd-model: {e}");
                    ExitCode::from(1)
                }
            };
        }
        Some("--model-core") => return core(path, &args[2..]),
        _ => {}
    }
    let store = match Store::open(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carpd-model: {e}");
            return ExitCode::from(2);
        }
    };
    let kernel = carpd::native::Kernel::new(Arc::new(carp_kernel_model::ModelSys::new(store)));
    carpd::cli::main_with(Some(kernel))
}

/// `configctl interface carp_set_status VERB` as core answers it.
fn core(model: &Path, args: &[String]) -> ExitCode {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let ["interface", "carp_set_status", verb] = words.as_slice() else {
        println!("Action not allowed or missing");
        return ExitCode::SUCCESS;
    };
    let Some(config) = std::env::var_os("CARPD_CONFIG") else {
        eprintln!("carpd-model: --model-core needs CARPD_CONFIG (config.xml)");
        return ExitCode::from(2);
    };
    let result = Store::open(model).and_then(|s| {
        s.with(|k| carp_kernel_model::core::carp_set_status(k, Path::new(&config), verb))
    });
    match result {
        Ok(Ok(answer)) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("carpd-model: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("carpd-model: {e}");
            ExitCode::from(1)
        }
    }
}
