"""Quality against the generating topic model, a unigram model and scikit-learn's LDA."""
import numpy as np

import ntmdata as d


def _perplexity(per_doc_loss, X):
    return float(np.exp(per_doc_loss * X.shape[0] / X.sum()))


def test_learned_topics_match_the_true_ones(topic_model):
    params, _ = d.load_params(topic_model.model_file)
    W = params["arg:projection_weight"]
    assert W.shape == (500, 10)
    # the notebook's reading: softmax over each column of the decoder matrix is a topic's words
    cos = d.best_match_cosine(topic_model.beta, d.softmax_columns(W).T)
    print("best-match cosine per true topic", np.round(cos, 3), "mean", cos.mean())
    assert cos.mean() >= 0.8


def test_held_out_perplexity_beats_unigram_and_is_comparable_to_lda(topic_model):
    r, Xt = topic_model.result, topic_model.Xt
    (test_loss,) = r.metrics(r"host=algo-1, test total_loss <loss>=(\S+)")
    ntm = _perplexity(test_loss, Xt)
    unigram = np.asarray(topic_model.X.sum(axis=0)).ravel() + 0.5
    unigram = float(np.exp(-(Xt @ np.log(unigram / unigram.sum())).sum() / Xt.sum()))
    lda = float(topic_model.lda.perplexity(Xt))  # scikit-learn's variational bound, as ours is
    print("held-out perplexity: NTM %.1f, scikit-learn LDA %.1f, unigram %.1f" % (ntm, lda, unigram))
    assert ntm < 0.6 * unigram
    assert ntm < 1.25 * lda


def test_reported_losses_are_the_saved_models(topic_model):
    """The test loss the container prints is the artifact's loss on the test documents, recomputed
    here in numpy from `params` alone (mu as the topic vector, as in evaluation)."""
    r = topic_model.result
    params, _ = d.load_params(topic_model.model_file)
    rec, kl, _ = d.numpy_losses(params, topic_model.Xt)
    (total,) = r.metrics(r"host=algo-1, test total_loss <loss>=(\S+)")
    (recons,) = r.metrics(r"host=algo-1, test recons <loss>=(\S+)")
    (kld,) = r.metrics(r"host=algo-1, test kld <loss>=(\S+)")
    np.testing.assert_allclose([total, recons, kld], [(rec + kl).mean(), rec.mean(), kl.mean()], rtol=1e-4)


def test_validation_loss_decreases_and_is_the_tuning_objective(topic_model):
    r = topic_model.result
    per_epoch = r.metrics(r"host=algo-1, epoch=\d+, validation total_loss <loss>=(\S+)")
    train = r.metrics(r"host=algo-1, epoch=\d+, train total_loss <loss>=(\S+)")
    assert len(per_epoch) == len(train) == 14
    assert per_epoch[-1] < per_epoch[0] - 20
    assert sum(b < a for a, b in zip(per_epoch, per_epoch[1:])) >= 10
    # the guide's objective validation:total_loss is the final line: the model kept, the lowest epoch
    (final,) = r.metrics(r"#quality_metric: host=\S+, validation total_loss <loss>=(\S+)")
    assert final == min(per_epoch)
    parts = [r.metrics(r"host=algo-1, epoch=\d+, validation %s <loss>=(\S+)" % p) for p in ("recons", "kld")]
    np.testing.assert_allclose(np.add(*parts), per_epoch, rtol=1e-6)
