"""Concrete density, emission gradients and the weight parameterisations."""

import numpy as np
import pytest
import torch
from torch.distributions import RelaxedOneHotCategorical

from neurotools.analyses.hmmglm import emissions
from neurotools.analyses.hmmglm.priors import WeightModel, concrete_log_density


def test_concrete_density_matches_torch_and_ignores_logit_shifts():
    torch.manual_seed(0)
    logits = torch.randn(50, 3, dtype=torch.float64)
    dist = RelaxedOneHotCategorical(torch.tensor(0.5, dtype=torch.float64), logits=logits)
    y = dist.sample()
    ours = concrete_log_density(torch.log(y), logits, 0.5)
    torch.testing.assert_close(ours, dist.log_prob(y), rtol=1e-6, atol=1e-6)
    shifted = concrete_log_density(torch.log(y), logits + 7.3, 0.5)
    torch.testing.assert_close(shifted, ours, rtol=1e-10, atol=1e-10)
    per_row = concrete_log_density(torch.log(y), logits - torch.randn(50, 1, dtype=torch.float64), 0.5)
    torch.testing.assert_close(per_row, ours, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("link", ["sigmoid", "softplus"])
@pytest.mark.parametrize("emission", ["poisson", "bernoulli"])
def test_hand_written_gradient_equals_autograd(link, emission):
    torch.manual_seed(1)
    u = torch.randn(200, dtype=torch.float64, requires_grad=True)
    x = torch.poisson(torch.full((200,), 0.6, dtype=torch.float64))
    if emission == "bernoulli":
        x = x.clamp(max=1)
    emissions.log_likelihood(x, u, link, emission).sum().backward()
    torch.testing.assert_close(emissions.log_likelihood_grad(x, u.detach(), link, emission), u.grad,
                               rtol=1e-5, atol=1e-6)


def test_poisson_log_likelihood_is_the_poisson_pmf():
    u = torch.tensor([-1.0, 0.3, 2.0], dtype=torch.float64)
    x = torch.tensor([0.0, 2.0, 5.0], dtype=torch.float64)
    for link in ("sigmoid", "softplus"):
        f = emissions.rate(u, link)
        want = torch.distributions.Poisson(f).log_prob(x)
        torch.testing.assert_close(emissions.log_likelihood(x, u, link, "poisson"), want, atol=1e-6, rtol=1e-6)


def test_onehot_hard_weights_are_signed_strengths_of_the_map_type():
    rng = np.random.default_rng(0)
    m = WeightModel("onehot", rng.normal(size=(2, 3, 3)), 1, 1 / 3, 0.2)
    w, _ = m.weights("hard")
    types = m.logits.detach().argmax(-1) - 1
    strength = torch.nn.functional.softplus(m.strength.detach())[..., 0]
    torch.testing.assert_close(w.detach(), types * strength)
    gen = torch.Generator().manual_seed(0)
    w_s, log_a = m.weights("train", gen)
    assert log_a.shape == (2, 3, 3, 3)
    torch.testing.assert_close(log_a.exp().sum(-1), torch.ones(2, 3, 3))
    assert torch.isfinite(m.log_prior(w_s, log_a))


def test_gaussian_prior_is_zero_for_identical_states_and_negative_otherwise():
    w = np.zeros((3, 2, 2))
    m = WeightModel("gaussian", w, 1, 0.5, 0.2)
    assert m.log_prior(m.w, None).item() == 0.0
    m2 = WeightModel("gaussian", w + np.arange(3)[:, None, None], 1, 0.5, 0.2)
    # states at 0, 1, 2 around a mean of 1: 8 entries at distance 1 -> -8 / (2 * 0.25)
    assert m2.log_prior(m2.w, None).item() == pytest.approx(-16.0)


def test_our_adam_equals_torch_adam():
    from neurotools.analyses.hmmglm.fit import Adam

    torch.manual_seed(0)
    target = torch.randn(4, 3)
    a = torch.zeros(4, 3, requires_grad=True)
    b = torch.zeros(4, 3, requires_grad=True)
    ours, ref = Adam([a], lr=0.1), torch.optim.Adam([b], lr=0.1)
    for _ in range(25):
        for p, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            ((p - target) ** 4).sum().backward()
            opt.step()
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
