// Dev harness: render dumped parts. parts <main.typ> <common.typ> <dir with front.json body*.json> [runs]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let main = std::fs::read_to_string(&args[1]).unwrap();
    let common = std::fs::read_to_string(&args[2]).unwrap();
    let dir = &args[3];
    let runs: usize = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(1);
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("body"))
        .collect();
    names.sort();
    let modules = [("/common.typ", common.as_str())];
    for _ in 0..runs {
        let report = ec_pdf::Report {
            template: ec_pdf::Template {
                main: &main,
                modules: &modules,
            },
            front: std::fs::read(format!("{dir}/front.json")).unwrap(),
            body: names.iter().map(|p| std::fs::read(p).unwrap()).collect(),
        };
        let c0 = cpu();
        let t = std::time::Instant::now();
        let out = ec_pdf::render_report(
            report,
            &ec_pdf::Options {
                ident: "x".into(),
                generated_at: time::OffsetDateTime::UNIX_EPOCH,
            },
        )
        .unwrap();
        eprintln!(
            "total {:?} cpu {:.3}s bytes {}",
            t.elapsed(),
            cpu() - c0,
            out.len()
        );
        std::fs::write("/tmp/parts.pdf", out).unwrap();
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    eprintln!(
        "{}",
        status.lines().find(|l| l.starts_with("VmHWM")).unwrap()
    );
}

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = s.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}
