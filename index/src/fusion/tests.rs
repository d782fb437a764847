//! Fusion: normalisations, weighted sums, server boost, RRF, NaN handling.

use super::*;
use proptest::prelude::*;

#[test]
fn min_max_maps_to_unit_range() {
    assert_eq!(
        normalize(&[2.0, 4.0, 3.0], Normalization::MinMax, 60.0),
        vec![0.0, 1.0, 0.5]
    );
    assert_eq!(
        normalize(&[5.0, 5.0], Normalization::MinMax, 60.0),
        vec![0.0, 0.0]
    );
    assert!(normalize(&[], Normalization::MinMax, 60.0).is_empty());
}

#[test]
fn z_score_has_zero_mean_unit_std() {
    let z = normalize(&[1.0, 2.0, 3.0, 4.0], Normalization::ZScore, 60.0);
    let mean: f32 = z.iter().sum::<f32>() / 4.0;
    let var: f32 = z.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 4.0;
    assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    assert_eq!(
        normalize(&[3.0; 4], Normalization::ZScore, 60.0),
        vec![0.0; 4]
    );
}

#[test]
fn rank_normalization_ignores_magnitude() {
    let r = normalize(&[10.0, 0.1, 5.0], Normalization::Rank, 60.0);
    assert_eq!(r, vec![1.0 / 61.0, 1.0 / 63.0, 1.0 / 62.0]);
}

#[test]
fn non_finite_scores_sink() {
    let v = normalize(
        &[f32::NAN, 1.0, 3.0, f32::INFINITY],
        Normalization::MinMax,
        60.0,
    );
    assert_eq!(v, vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(
        normalize(&[f32::NAN], Normalization::ZScore, 60.0),
        vec![0.0]
    );
    assert_eq!(rank_order(&[f32::NAN, 1.0, 2.0]), vec![2, 1, 0]);
}

#[test]
fn fusion_combines_both_signals() {
    // doc 0 wins keyword, doc 1 wins semantic, doc 2 is second on both: balanced fusion picks 2
    let kw = [10.0, 0.0, 8.0, 0.0];
    let sem = [0.1, 0.9, 0.8, 0.0];
    let w = FusionWeights {
        keyword: 1.0,
        semantic: 1.0,
        server_boost: 0.0,
        normalization: Normalization::MinMax,
        rrf_k: 60.0,
    };
    assert_eq!(rank_order(&fuse(&kw, &sem, &w))[0], 2);
    let kw_only = FusionWeights { semantic: 0.0, ..w };
    assert_eq!(rank_order(&fuse(&kw, &sem, &kw_only))[0], 0);
}

#[test]
fn group_boost_lifts_siblings_of_the_best() {
    // tools 0,1 on server 7; tool 2 alone on server 9
    let s = group_boost(&[1.0, 0.2, 0.5], &[7, 7, 9], 0.5);
    assert_eq!(s, vec![1.5, 0.7, 0.75]);
    assert_eq!(rank_order(&s), vec![0, 2, 1]);
    let strong = group_boost(&[1.0, 0.2, 0.5], &[7, 7, 9], 2.0);
    assert_eq!(rank_order(&strong), vec![0, 1, 2]);
    // singleton groups keep the order; missing group ids and NaN are left alone
    assert_eq!(
        rank_order(&group_boost(&[0.3, 0.9, 0.1], &[0, 1, 2], 1.0)),
        vec![1, 0, 2]
    );
    let odd = group_boost(&[f32::NAN, 1.0, 2.0], &[0, 0], 1.0);
    assert!(odd[0].is_nan() && odd[1] == 2.0 && odd[2] == 2.0);
    assert_eq!(group_boost(&[1.0, 2.0], &[0, 0], 0.0), vec![1.0, 2.0]);
}

#[test]
fn default_is_the_tuned_setting() {
    let w = FusionWeights::default();
    assert_eq!((w.keyword, w.semantic, w.server_boost), (0.3, 0.7, 0.5));
    assert_eq!(w.normalization, Normalization::ZScore);
}

#[test]
fn rrf_matches_definition() {
    let a: &[u32] = &[0, 1, 2];
    let b: &[u32] = &[2, 0, 9];
    let s = rrf(&[a, b], 60.0, 3);
    assert_eq!(
        s,
        vec![1.0 / 61.0 + 1.0 / 62.0, 1.0 / 62.0, 1.0 / 63.0 + 1.0 / 61.0]
    );
    assert_eq!(rank_order(&s), vec![0, 2, 1]);
}

#[test]
fn cosine_and_l2() {
    let mut q = vec![3.0, 4.0];
    l2_normalize(&mut q);
    assert!((q[0] - 0.6).abs() < 1e-6);
    let rows = vec![vec![0.6, 0.8], vec![1.0, 0.0], vec![1.0]];
    let c = cosine_all(&q, &rows);
    assert!((c[0] - 1.0).abs() < 1e-6 && (c[1] - 0.6).abs() < 1e-6 && c[2] == 0.0);
    let mut z = vec![0.0, 0.0];
    l2_normalize(&mut z);
    assert_eq!(z, vec![0.0, 0.0]);
}

proptest! {
    #[test]
    fn fusion_never_panics_and_keeps_length(kw in proptest::collection::vec(proptest::num::f32::ANY, 0..20),
                                            sem in proptest::collection::vec(-1f32..1.0, 0..20),
                                            wk in 0f32..2.0, ws in 0f32..2.0) {
        for normalization in [Normalization::MinMax, Normalization::ZScore, Normalization::Rank] {
            let w = FusionWeights { keyword: wk, semantic: ws, server_boost: 0.5, normalization, rrf_k: 60.0 };
            let groups: Vec<u32> = (0..kw.len() as u32).map(|i| i % 3).collect();
            let f = hybrid(&kw, &sem, &groups, &w);
            prop_assert_eq!(f.len(), kw.len().max(sem.len()));
            prop_assert!(f.iter().all(|x| x.is_finite()));
            prop_assert_eq!(rank_order(&f).len(), f.len());
        }
    }
}
