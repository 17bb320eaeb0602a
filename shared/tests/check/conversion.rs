//! Properties of section 3's number conversion, over all doubles.

use proptest::prelude::*;
use roster_shared::cells::{CellProblem, number_text};

proptest! {
    #[test]
    fn numbers_read_back_exactly(n in any::<f64>().prop_filter("finite", |n| n.is_finite())) {
        let text = number_text(n).text;
        prop_assert_eq!(text.parse::<f64>().unwrap(), if n == 0.0 { 0.0 } else { n });
        prop_assert!(!text.contains('e') && !text.contains('E'));
    }

    #[test]
    fn whole_numbers_have_no_decimal_part(n in -(1i64 << 53)..=(1i64 << 53)) {
        let converted = number_text(n as f64);
        prop_assert_eq!(converted.text, n.to_string());
        prop_assert_eq!(converted.problem, None);
    }

    #[test]
    fn whole_numbers_past_two_to_the_53_are_imprecise(n in (1u64 << 53) + 1..u64::MAX) {
        let f = n as f64;
        prop_assume!(f > 9_007_199_254_740_992.0);
        prop_assert_eq!(number_text(f).problem, Some(CellProblem::ImpreciseNumber));
        prop_assert_eq!(number_text(-f).problem, Some(CellProblem::ImpreciseNumber));
    }

    #[test]
    fn fractions_keep_their_shortest_form(whole in -1_000_000i64..1_000_000, cents in 1u32..100) {
        let text = format!("{whole}.{cents:02}");
        let text = text.trim_end_matches('0');
        let n: f64 = text.parse().unwrap();
        prop_assert_eq!(number_text(n).text, text);
    }
}
