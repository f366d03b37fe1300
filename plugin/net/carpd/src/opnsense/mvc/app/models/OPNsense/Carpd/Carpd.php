<?php

/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

namespace OPNsense\Carpd;

use OPNsense\Base\BaseModel;
use OPNsense\Base\Messages\Message;

/**
 * carpd settings (//OPNsense/carpd): the daemon's switch and hook timeout, the Defguard
 * gateway hook (rc.syshook.d/carp/50-defguard-gateway) that follows one CARP VHID, and the
 * protocol settings per VHID (vhids.vhid: CARP or VRRPv3, one entry per CARP VIP; the
 * UniqueConstraint on vhids.vhid.vip keeps it at one).
 */
class Carpd extends BaseModel
{
    /**
     * The Defguard hook must know which VHID it follows: a CARP VIP or a bare VHID. A VRRPv3
     * VHID needs accept mode.
     * {@inheritdoc}
     */
    public function performValidation($validateFullModel = false)
    {
        $messages = parent::performValidation($validateFullModel);

        $defguard = $this->defguard;
        $changed = $validateFullModel ||
            $defguard->enabled->isFieldChanged() ||
            $defguard->vip->isFieldChanged() ||
            $defguard->vhid->isFieldChanged();
        if (
            $changed &&
            (string)$defguard->enabled === '1' &&
            (string)$defguard->vip === '' &&
            (string)$defguard->vhid === ''
        ) {
            $messages->appendMessage(new Message(
                gettext('Select the CARP virtual IP the gateway follows, or enter its VHID.'),
                'defguard.vip'
            ));
        }

        /*
         * carpd refuses a VRRPv3 VHID with accept 0 (src/config/validate.rs, vhid_settings):
         * it adds the VIPs as the MASTER's own addresses, which always accept packets. Reported
         * on the entry's field, as core's Dnsmasq model does for its hosts.
         */
        foreach ($this->vhids->vhid->iterateItems() as $vhid) {
            if (!$validateFullModel && !$vhid->isFieldChanged()) {
                continue;
            }
            if ((string)$vhid->protocol === 'vrrp3' && (string)$vhid->accept !== '1') {
                $messages->appendMessage(new Message(
                    gettext('carpd needs accept mode on for VRRPv3: the virtual IPs are the MASTER\'s own addresses.'),
                    $vhid->__reference . '.accept'
                ));
            }
        }

        return $messages;
    }
}
