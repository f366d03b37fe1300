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

namespace OPNsense\Carpd\Api;

use OPNsense\Base\ApiMutableModelControllerBase;

/**
 * /api/carpd/settings/get and /api/carpd/settings/set on the carpd model, and the grid of
 * per-VHID protocol settings (vhids.vhid): search_vhid, get_vhid, add_vhid, set_vhid and
 * del_vhid, as core's Syslog settings do for its destinations
 * (opnsense/core src/opnsense/mvc/app/controllers/OPNsense/Syslog/Api/SettingsController.php).
 * The dialog's fields are vhid.<field> (forms/dialogVhid.xml); changes reach carpd on Apply
 * (/api/carpd/service/reconfigure).
 */
class SettingsController extends ApiMutableModelControllerBase
{
    protected static $internalModelName = 'carpd';
    protected static $internalModelClass = '\OPNsense\Carpd\Carpd';

    /**
     * The grid's rows (the vip column shows the VIP's description).
     * @return array
     */
    public function searchVhidAction()
    {
        return $this->searchBase(
            'vhids.vhid',
            ['vip', 'protocol', 'priority', 'interval', 'preempt', 'accept'],
            'vip'
        );
    }

    /**
     * One entry, or the defaults for a new one.
     * @param string|null $uuid
     * @return array
     */
    public function getVhidAction($uuid = null)
    {
        return $this->getBase('vhid', 'vhids.vhid', $uuid);
    }

    /**
     * @return array save result and validation messages
     */
    public function addVhidAction()
    {
        return $this->addBase('vhid', 'vhids.vhid');
    }

    /**
     * @param string $uuid
     * @return array save result and validation messages
     */
    public function setVhidAction($uuid)
    {
        return $this->setBase('vhid', 'vhids.vhid', $uuid);
    }

    /**
     * @param string $uuid one uuid, or several separated by commas
     * @return array
     */
    public function delVhidAction($uuid)
    {
        return $this->delBase('vhids.vhid', $uuid);
    }
}
